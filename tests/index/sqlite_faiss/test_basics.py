"""FaissSqliteStore on real text: CRUD, replacement, filters, deletes, restarts, and ranking with the
real embedder. Storage tests use deterministic unit vectors derived from each chunk's text."""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.chunker import chunk_text
from index.types import Chunk, Document, Page
from tests.index.sqlite_faiss.helpers import DIM, MODEL, REPO, add_corpus, make_item, run_python, snapshot, text_vectors


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
