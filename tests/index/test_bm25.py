"""BM25 over the store's chunks (SQLite FTS5): in step with SQLite after add, replace, delete, restarts,
another process's writes and an upgrade from schema 1. Real SQuAD paragraphs; deterministic vectors
(BM25 never reads them)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from index.bm25 import tokenize
from index.store import DB_FILE, FaissSqliteStore, StoreConfig, open_store
from index.store.memory import MemoryStore
from index.types import Chunk, Document

REPO = Path(__file__).resolve().parents[2]
SQUAD_FILE = REPO.parent / "shared" / "data" / "squad" / "squad-v2-dev-20-articles-contexts.json"
DIM = 16


@pytest.fixture(scope="module")
def contexts() -> list[str]:
    data = json.loads(SQUAD_FILE.read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]][:40]


def item(doc_id: str, text: str) -> tuple[Document, list[Chunk], np.ndarray]:
    """A document chunked at sentence ends (". "), with a deterministic unit vector per chunk."""
    chunks, start = [], 0
    while start < len(text):
        end = text.find(". ", start)
        end = len(text) if end < 0 else end + 2
        chunks.append(Chunk(doc_id=doc_id, start=start, end=end, text=text[start:end]))
        start = end
    rows = []
    for chunk in chunks:
        seed = int.from_bytes(hashlib.blake2b(chunk.text.encode(), digest_size=8).digest(), "little")
        vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
        rows.append(vector / np.linalg.norm(vector))
    return Document(id=doc_id, title=doc_id, text=text), chunks, np.stack(rows)


@pytest.fixture
def opened(tmp_path):
    """Opens stores over a data directory (through the factory); closes them all afterwards."""
    stores: list[FaissSqliteStore] = []

    def open_(directory: Path | None = None, read_only: bool = False) -> FaissSqliteStore:
        config = StoreConfig(directory or tmp_path / "data", DIM, "test", read_only=read_only)
        store = open_store(config)
        assert isinstance(store, FaissSqliteStore)
        stores.append(store)
        return store

    yield open_
    for store in stores:
        store.close()


def found_docs(store, query: str, k: int = 10) -> list[str]:
    return [c.doc_id for c in store.get_chunks([i for i, _ in store.keyword.search(query, k)])]


def assert_in_step(store: FaissSqliteStore) -> None:
    assert store.verify() == []  # includes: every chunk in the keyword index, no row of a lost chunk


def test_tokenize_lowercases_stems_and_drops_stop_words():
    assert tokenize(["Who were the Normans conquering in 1066?"]) == [["norman", "conquer", "1066"]]


def test_add_replace_delete_keep_bm25_in_step(opened, contexts):
    store = opened()
    assert store.keyword.search("anything", 5) == []
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts)])
    store.add(*item("part", "The replacement valve is part XQ7731B. It ships from Rotterdam."))
    assert found_docs(store, "Which part is XQ7731B?")[:1] == ["part"]
    assert_in_step(store)

    store.add(*item("part", "The replacement valve is part ZR2209K. It ships from Rotterdam."))
    assert "part" not in found_docs(store, "XQ7731B")
    assert found_docs(store, "ZR2209K") == ["part"]
    assert_in_step(store)

    assert store.delete("part")
    assert found_docs(store, "ZR2209K Rotterdam valve") == []
    assert_in_step(store)


def test_search_orders_by_score_and_filters_by_document(opened, contexts):
    store = opened()
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts)])
    hits = store.keyword.search("university students library", 8)
    assert hits and all(score > 0 for _, score in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    only = {store.get_chunks([hits[-1][0]])[0].doc_id, "ctx-7"}
    filtered = store.keyword.search("university students library", 8, doc_ids=only)
    assert filtered and {c.doc_id for c in store.get_chunks([i for i, _ in filtered])} <= only
    assert store.keyword.search("university", 8, doc_ids=[]) == []
    scores = store.keyword.scores_of("university students library", [i for i, _ in hits])
    assert scores == pytest.approx(dict(hits))
    unrelated = store.chunks_of("ctx-0")[0].id
    assert store.keyword.scores_of("zzzqqq", [unrelated]) == {unrelated: 0.0}


def test_scores_are_bm25_as_the_memory_backend_computes_it(opened, contexts):
    """FTS5's bm25() and the in-memory Python BM25 (same tokens, k1, b and IDF) agree."""
    store, memory = opened(), MemoryStore(dimension=DIM, model_name="test")
    items = [item(f"ctx-{i}", text) for i, text in enumerate(contexts)]
    store.add_many(items)
    memory.add_many(items)
    for query in ("university students library", "Norman conquest of England in 1066", "river city"):
        fts, python = store.keyword.search(query, 10), memory.keyword.search(query, 10)
        assert [i for i, _ in fts] == [i for i, _ in python]
        assert [s for _, s in fts] == pytest.approx([s for _, s in python], rel=1e-4)


def test_restart_gives_the_same_results(opened, contexts):
    store = opened()
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts)])
    before = store.keyword.search("city population river", 10)
    store.close()
    store = opened()
    assert store.keyword.search("city population river", 10) == before
    assert_in_step(store)


def test_an_index_of_schema_1_is_upgraded_at_open(opened, contexts, tmp_path):
    """Indexes written before FTS5 (schema 1, no keyword table) get their keyword index built from
    the stored chunks when first opened for writing; a read-only open is told to let a writer do it."""
    store = opened()
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts)])
    store.add(*item("part", "The replacement valve is part XQ7731B."))
    expected = store.keyword.search("replacement valve river", 10)
    store.close()
    with sqlite3.connect(tmp_path / "data" / DB_FILE) as conn:
        conn.execute("DROP TABLE chunks_fts")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()
    (tmp_path / "data" / "bm25").mkdir()  # what bm25s left behind

    with pytest.raises(Exception, match="schema version 1"):
        opened(read_only=True)
    store = opened()
    assert store.keyword.search("replacement valve river", 10) == expected
    assert found_docs(store, "XQ7731B") == ["part"]
    assert_in_step(store)
    assert not (tmp_path / "data" / "bm25").exists()


def test_a_read_only_process_follows_the_writer(opened, contexts):
    writer = opened()
    writer.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts[:5])])
    reader = opened(read_only=True)
    assert found_docs(reader, "XQ7731B") == []
    writer.add(*item("part", "The replacement valve is part XQ7731B."))
    assert found_docs(reader, "XQ7731B") == ["part"]
    writer.delete("part")
    assert found_docs(reader, "XQ7731B") == []


def test_searches_during_writes_only_return_stored_chunks(opened, contexts):
    store = opened()
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts[:10])])
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        try:
            while not stop.is_set():
                hits = store.keyword.search("river city university war", 5)
                assert all(isinstance(chunk_id, int) and score > 0 for chunk_id, score in hits)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=search) for _ in range(2)]
    for thread in threads:
        thread.start()
    for i, text in enumerate(contexts[10:25]):
        store.add(*item(f"late-{i}", text))
        if i % 3 == 0:
            store.delete(f"ctx-{i}")
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    assert_in_step(store)
