"""Regression tests for store defects found in review (issue 17): connections of ended threads,
metadata that is not strict JSON, reads during writes, and a FAISS file from a lost commit."""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from index.store import DB_FILE, FaissSqliteStore
from tests.index.store_contract import CORPUS, DIM, item, unit_vector


@pytest.fixture
def store(tmp_path):
    store = FaissSqliteStore(tmp_path / "data", dimension=DIM, model_name="test")
    yield store
    store.close()


def open_database_files(path: Path) -> int:
    """File descriptors of this process open on the database file `path`."""
    target = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == target
        except OSError:
            continue
    return count


def test_connections_of_ended_threads_are_closed(store, tmp_path):
    """Request threads come and go (anyio retires idle workers): each one's connection must not
    stay open forever (item 4: 50 short-lived threads left 50 open connections)."""
    store.add_many([item(k, v) for k, v in CORPUS.items()])
    before = open_database_files(tmp_path / "data" / DB_FILE)
    for _ in range(50):
        thread = threading.Thread(target=store.count_documents)
        thread.start()
        thread.join()
    assert store.count_documents() == len(CORPUS)
    assert open_database_files(tmp_path / "data" / DB_FILE) <= before + 2


def test_a_stored_nan_in_metadata_does_not_break_filters(store, tmp_path):
    """Item 6: one document with NaN in its metadata broke every metadata-filtered question
    ("malformed JSON"). New writes are refused (contract suite); a row written before that, here
    put in by hand, must not break filtering either."""
    store.add_many([item(k, v, metadata={"lang": "en"}) for k, v in CORPUS.items()])
    document, chunks, vectors = item("legacy", "Old row. Its metadata is not strict JSON.")
    store.add(document, chunks, vectors)
    with sqlite3.connect(tmp_path / "data" / DB_FILE) as conn:
        conn.execute("UPDATE documents SET metadata = ? WHERE id = 'legacy'", ('{"lang": "en", "score": NaN}',))
    conn.close()
    assert store.doc_ids_matching({"lang": "en"}) == sorted(CORPUS)
    assert store.doc_ids_matching({"score": 1.0}) == []
    with pytest.raises(ValueError):
        store.add(*item("new", "Refused. Not stored.", metadata={"score": math.nan}))


def test_reads_do_not_wait_for_a_write_in_progress(store):
    """Item 8: questions must never wait on the write side. While a write holds the writer (here a
    re-embedding paused inside its embed call), searches, keyword searches and reads all complete."""
    store.add_many([item(k, v) for k, v in CORPUS.items()])
    inside, release = threading.Event(), threading.Event()

    def slow_embed(texts: list[str]) -> np.ndarray:
        inside.set()
        release.wait(30)
        return np.stack([unit_vector(t) for t in texts])

    writer = threading.Thread(target=store.rebuild_vectors, args=("test", DIM, slow_embed))
    writer.start()
    try:
        assert inside.wait(30)
        results: list[object] = []

        def read() -> None:
            results.append(store.keyword.search("XQ7731B", 3))
            results.append(store.search(unit_vector("q"), 3))
            results.append(store.get_document("valve"))

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(20)  # a deadlock guard, not a timing: the reads must finish while the writer waits
        assert not reader.is_alive() and len(results) == 3 and results[0]
    finally:
        release.set()
        writer.join()


def test_a_faiss_file_from_a_lost_commit_is_not_reused(tmp_path):
    """Item 10: a power loss may drop SQLite's last commit while the FAISS file saved after it
    survives; the next write then reuses that generation and those chunk ids. The FAISS file of the
    lost commit must not pass the checks (it would answer with the lost document's vectors)."""
    data = tmp_path / "data"

    def open_() -> FaissSqliteStore:
        return FaissSqliteStore(data, dimension=DIM, model_name="test")

    store = open_()
    store.add(*item("rivers", CORPUS["rivers"]))
    store.close()
    shutil.copy(data / DB_FILE, tmp_path / "before.sqlite3")  # SQLite as of the last durable commit

    store = open_()
    store.add(*item("lost", "A document that is lost. Its vectors must not come back."))
    store.close()  # the FAISS file now holds the lost commit's vectors and generation
    for suffix in ("", "-wal", "-shm"):
        Path(f"{data / DB_FILE}{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "before.sqlite3", data / DB_FILE)  # the power loss: that commit is gone

    store = open_()
    stored = store.add(*item("kept", "A document that is kept. It reuses the ids."))
    store._close(persist=False)  # a crash: the FAISS file on disk is still the lost commit's

    store = open_()
    try:
        assert json.loads((data / "index.json").read_text())["generation"] == store.generation()
        for chunk in stored:
            assert store.search(unit_vector(chunk.text), 1)[0][0] == chunk
            assert np.allclose(store.chunk_vectors([chunk.id])[chunk.id], unit_vector(chunk.text))
        assert store.verify() == []
    finally:
        store.close()
