"""FaissSqliteStore under contention: one writer, read-only followers, failed writes, threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from errors import IndexError_, IndexLocked
from index.store import FaissSqliteStore
from index.types import Chunk, Document
from tests.index.sqlite_faiss.helpers import DIM, MODEL, add_corpus, make_item, run_python, snapshot, text_vectors


def test_a_second_writer_is_locked_out_but_readers_are_not(open_store, contexts, tokenizer, tmp_path, index_type):
    store = open_store()
    items = add_corpus(store, contexts, tokenizer, count=5)
    store.flush()
    with pytest.raises(IndexLocked, match="in use by another spanqa process"):
        open_store()  # a second writer in this process
    query = items["doc-1"][2][0]
    np.save(tmp_path / "query.npy", query)
    result = run_python(f"""
        import numpy as np
        from errors import IndexLocked
        from index.store import FaissSqliteStore
        options = dict(dimension={DIM}, model_name={MODEL!r}, index_type={index_type!r})
        try:
            FaissSqliteStore({str(tmp_path / "data")!r}, **options)
            print("OPENED")
        except IndexLocked as error:
            print("LOCKED", error)
        reader = FaissSqliteStore({str(tmp_path / "data")!r}, read_only=True, **options)
        reader.check()
        chunk, score = reader.search(np.load({str(tmp_path / "query.npy")!r}), 1)[0]
        print("FOUND", chunk.doc_id, round(score, 4), reader.count_documents())
        reader.close()
    """)
    assert result.returncode == 0, result.stderr
    assert "LOCKED" in result.stdout and "OPENED" not in result.stdout
    assert "FOUND doc-1 1.0 5" in result.stdout
    store.close()
    reopened = open_store()  # the lock is free again
    assert reopened.count_documents() == 5


def test_read_only_store_follows_the_writer_and_never_writes(open_store, contexts, tokenizer):
    writer = open_store()
    add_corpus(writer, contexts, tokenizer, count=3)
    reader = open_store(read_only=True)
    assert reader.count_documents() == 3
    document, chunks, vectors = make_item("late", contexts[20], tokenizer)
    writer.add(document, chunks, vectors)
    hit, _ = reader.search(vectors[0], 1)[0]
    assert hit.doc_id == "late" and hit.text == chunks[0].text
    reader.check()
    with pytest.raises(IndexError_):
        reader.add(document, chunks, vectors)
    with pytest.raises(IndexError_):
        reader.delete("late")


def test_read_only_open_after_the_writer_closed(open_store, contexts, tokenizer):
    writer = open_store()
    items = add_corpus(writer, contexts, tokenizer, count=4)
    writer.close()
    reader = open_store(read_only=True)
    reader.check()
    assert reader.count_documents() == 4 and reader.get_document("doc-1").text == contexts[1]
    assert reader.search(items["doc-1"][2][0], 1)[0][0].doc_id == "doc-1"


def test_read_only_needs_an_existing_index(tmp_path, index_type):
    with pytest.raises(IndexError_, match="no index"):
        FaissSqliteStore(tmp_path / "empty", dimension=DIM, model_name=MODEL, index_type=index_type, read_only=True)


# ---- failed writes ---------------------------------------------------------------------------


def test_failed_writes_change_nothing(open_store, contexts, tokenizer):
    store = open_store()
    add_corpus(store, contexts, tokenizer, count=6)
    queries = text_vectors(["x", "y"])

    def state():
        return (
            store.count_documents(),
            store.count_chunks(),
            store.count_vectors(),
            store.all_chunk_ids(),
            store.get_document("doc-2").text,
            snapshot(store, queries),
        )

    before = state()
    document, chunks, vectors = make_item("doc-2", contexts[60], tokenizer)
    bad_inputs = [
        (vectors[:-1], ValueError),  # one vector short
        (vectors[:, :-1], ValueError),  # wrong dimension
        (np.full_like(vectors, np.nan), ValueError),
    ]
    for bad, error in bad_inputs:
        with pytest.raises(error):
            store.add(document, chunks, bad)
        assert state() == before
    with pytest.raises(ValueError, match="does not slice"):
        store.add(document, [Chunk("doc-2", 0, 5, "wrong")] + chunks[1:], vectors)
    with pytest.raises(ValueError):
        store.add(document, [Chunk("other", c.start, c.end, c.text) for c in chunks], vectors)
    assert state() == before
    # Fails inside the transaction: a new document goes in, then a replacement cannot be written.
    unserializable = Document("doc-2", "t", contexts[60], metadata={"bad": object()})
    with pytest.raises(TypeError):
        store.add_many([make_item("brand-new", contexts[61], tokenizer), (unserializable, chunks, vectors)])
    assert state() == before and store.get_document("brand-new") is None
    store.check()


# ---- concurrency -----------------------------------------------------------------------------


def test_concurrent_searches_while_another_thread_writes(open_store, contexts, tokenizer):
    store = open_store(persist_every=5)
    add_corpus(store, contexts, tokenizer, count=10)
    texts = {f"doc-{i}": contexts[i] for i in range(len(contexts))}
    new_items = [make_item(f"doc-{i}", contexts[i], tokenizer) for i in range(10, 60)]
    queries = text_vectors([f"q{i}" for i in range(40)])
    errors: list[BaseException] = []
    searches = [0]
    stop = threading.Event()

    def search_loop(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            while not stop.is_set():
                query = queries[rng.integers(len(queries))]
                doc_ids = None if rng.random() < 0.5 else {f"doc-{i}" for i in rng.integers(0, 60, 5)}
                for chunk, _ in store.search(query, 8, doc_ids=doc_ids):
                    assert texts[chunk.doc_id][chunk.start : chunk.end] == chunk.text
                    if doc_ids is not None:
                        assert chunk.doc_id in doc_ids
                if rng.random() < 0.05:
                    store.check()
                searches[0] += 1
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def write_loop() -> None:
        try:
            for i, item in enumerate(new_items):
                store.add(*item)
                if i % 4 == 0:
                    doc_id = f"doc-{i % 10}"
                    store.delete(doc_id)
                    store.add(*make_item(doc_id, contexts[i % 10], tokenizer, chunk_tokens=32 + i))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    readers = [threading.Thread(target=search_loop, args=(seed,)) for seed in range(4)]
    writer = threading.Thread(target=write_loop)
    for thread in [*readers, writer]:
        thread.start()
    writer.join(timeout=120)
    time.sleep(0.2)
    stop.set()
    for thread in readers:
        thread.join(timeout=30)
    assert not errors, errors
    assert searches[0] > 20
    store.check()
    assert store.count_documents() == 60
