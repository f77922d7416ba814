"""BM25 over the store's chunks: in step with SQLite after add, replace, delete, restarts,
another process's writes and damaged files. Real SQuAD paragraphs; deterministic vectors (BM25
never reads them)."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from index.bm25 import POINTER_FILE, BM25Index, tokenize
from index.store import FaissSqliteStore
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
    """Opens (store, bm25) pairs over a data directory; closes every store afterwards."""
    stores: list[FaissSqliteStore] = []

    def open_(directory: Path | None = None, **options) -> tuple[FaissSqliteStore, BM25Index]:
        directory = directory or tmp_path / "data"
        store = FaissSqliteStore(directory, dimension=DIM, model_name="test", **options)
        stores.append(store)
        return store, BM25Index(directory / "bm25", store)

    yield open_
    for store in stores:
        store.close()


def found_docs(bm25: BM25Index, store: FaissSqliteStore, query: str, k: int = 10) -> list[str]:
    return [c.doc_id for c in store.get_chunks([i for i, _ in bm25.search(query, k)])]


def assert_in_step(store: FaissSqliteStore, bm25: BM25Index) -> None:
    bm25.check()
    assert bm25.generation == store.generation()
    assert len(bm25) == store.count_chunks()


def test_tokenize_lowercases_stems_and_drops_stop_words():
    assert tokenize(["Who were the Normans conquering in 1066?"]) == [["norman", "conquer", "1066"]]


def test_add_replace_delete_keep_bm25_in_step(opened, contexts):
    store, bm25 = opened()
    assert bm25.search("anything", 5) == []
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts)])
    store.add(*item("part", "The replacement valve is part XQ7731B. It ships from Rotterdam."))
    assert found_docs(bm25, store, "Which part is XQ7731B?")[:1] == ["part"]
    assert_in_step(store, bm25)

    store.add(*item("part", "The replacement valve is part ZR2209K. It ships from Rotterdam."))
    assert "part" not in found_docs(bm25, store, "XQ7731B")
    assert found_docs(bm25, store, "ZR2209K") == ["part"]
    assert_in_step(store, bm25)

    assert store.delete("part")
    assert found_docs(bm25, store, "ZR2209K Rotterdam valve") == []
    assert_in_step(store, bm25)


def test_search_orders_by_score_and_filters_by_document(opened, contexts):
    store, bm25 = opened()
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts)])
    hits = bm25.search("university students library", 8)
    assert hits and all(score > 0 for _, score in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    only = {"ctx-3", "ctx-7"}
    filtered = bm25.search("university students library", 8, doc_ids=only)
    assert {c.doc_id for c in store.get_chunks([i for i, _ in filtered])} <= only
    assert bm25.search("university", 8, doc_ids=[]) == []
    scores = bm25.scores_of("university students library", [i for i, _ in hits])
    assert scores == pytest.approx(dict(hits))


def test_restart_reuses_the_saved_index_when_current(opened, contexts, tmp_path):
    store, bm25 = opened()
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts)])
    before = bm25.search("city population river", 10)
    pointer = json.loads((tmp_path / "data" / "bm25" / POINTER_FILE).read_text())
    assert pointer["generation"] == store.generation()
    store.close()

    store, bm25 = opened()
    assert bm25._load() is not None  # the files on disk are current: no rebuild needed
    assert bm25.search("city population river", 10) == before
    assert_in_step(store, bm25)


def test_writes_made_without_bm25_are_caught_up_after_restart(opened, contexts, tmp_path):
    """A process that wrote through the store alone (or crashed before BM25 saved) leaves a stale
    BM25 folder behind; the next open notices by generation and rebuilds."""
    store, bm25 = opened()
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts)])
    store.add(*item("part", "The replacement valve is part XQ7731B."))
    assert found_docs(bm25, store, "XQ7731B") == ["part"]
    store.close()

    plain = FaissSqliteStore(tmp_path / "data", dimension=DIM, model_name="test")
    plain.delete("part")
    plain.add(*item("other", "Spare part QW5512T replaces it."))
    plain.close()

    store, bm25 = opened()
    assert found_docs(bm25, store, "XQ7731B") == []
    assert found_docs(bm25, store, "QW5512T") == ["other"]
    assert_in_step(store, bm25)


@pytest.mark.parametrize("damage", ["pointer", "rows", "model", "folder"])
def test_damaged_files_are_rebuilt_from_sqlite(opened, contexts, tmp_path, damage):
    store, bm25 = opened()
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts)])
    store.add(*item("part", "The replacement valve is part XQ7731B."))
    store.close()
    folder = tmp_path / "data" / "bm25"
    current = folder / json.loads((folder / POINTER_FILE).read_text())["folder"]
    if damage == "pointer":
        (folder / POINTER_FILE).write_text("{not json")
    elif damage == "rows":
        rows = json.loads((current / "rows.json").read_text())
        rows["chunk_ids"] = rows["chunk_ids"][:-1]
        rows["doc_ids"] = rows["doc_ids"][:-1]
        (current / "rows.json").write_text(json.dumps(rows))
    elif damage == "model":
        (current / "data.csc.index.npy").write_bytes(b"garbage")
    else:
        for path in current.iterdir():
            path.unlink()
        current.rmdir()

    store, bm25 = opened()
    assert found_docs(bm25, store, "XQ7731B") == ["part"]
    assert_in_step(store, bm25)


def test_a_read_only_process_follows_the_writer(opened, contexts, tmp_path):
    writer, _ = opened()
    writer.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts[:5])])
    reader, bm25 = opened(read_only=True)
    assert found_docs(bm25, reader, "XQ7731B") == []
    writer.add(*item("part", "The replacement valve is part XQ7731B."))
    assert found_docs(bm25, reader, "XQ7731B") == ["part"]
    writer.delete("part")
    assert found_docs(bm25, reader, "XQ7731B") == []
    assert bm25.generation == writer.generation()


def test_searches_during_writes_only_return_stored_chunks(opened, contexts):
    store, bm25 = opened()
    store.add_many([item(f"ctx-{i}", text) for i, text in enumerate(contexts[:10])])
    errors: list[BaseException] = []
    stop = threading.Event()

    def search() -> None:
        try:
            while not stop.is_set():
                for chunk_id, _ in bm25.search("river city university war", 5):
                    assert isinstance(chunk_id, int)
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
    assert_in_step(store, bm25)
