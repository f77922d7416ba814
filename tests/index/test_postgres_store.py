"""The PostgreSQL store beyond the contract: replicas on one database, concurrency, kill -9, schema, model.

Every test runs on a real PostgreSQL + pgvector (tests/pg_fixtures.py), a fresh database each.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from errors import IndexError_, IndexModelMismatch
from index.store import StoreConfig, open_store
from index.store.postgres_schema import SCHEMA_VERSION
from tests.index.store_contract import CORPUS, DIM, fill, item, unit_vector

REPO = Path(__file__).resolve().parents[2]


def open_pg(url: str, model: str = "test", dimension: int = DIM, **fields):
    return open_store(StoreConfig(Path("."), dimension, model, database_url=url, **fields))


@pytest.fixture
def replicas(postgres_url):
    """Two stores on one database, as two `spanqa serve` processes would hold them."""
    a, b = open_pg(postgres_url, pool_size=4), open_pg(postgres_url, pool_size=4)
    yield a, b
    a.close()
    b.close()


def test_a_write_through_one_replica_is_seen_by_the_other_at_once(replicas):
    a, b = replicas
    fill(a)
    a.add(*item("late", "A late document about part QW5512T."))
    assert b.get_document("late") is not None and b.count_documents() == len(CORPUS) + 1
    target = a.chunks_of("late")[0]
    assert b.search(unit_vector(target.text), 1)[0][0] == target
    assert [b.get_chunks([i])[0].doc_id for i, _ in b.keyword.search("QW5512T", 3)] == ["late"]
    assert b.delete("late") is True
    assert a.get_document("late") is None and a.keyword.search("QW5512T", 3) == []
    assert a.search(unit_vector(target.text), 1)[0][0] != target


def test_concurrent_adds_deletes_and_searches_through_two_replicas(replicas):
    a, b = replicas
    fill(a)
    errors: list[BaseException] = []
    stop = threading.Event()

    def guarded(work):
        def run():
            try:
                work()
            except BaseException as error:  # noqa: BLE001 - every error fails the test below
                errors.append(error)

        return run

    def writer(store, prefix):
        for i in range(12):
            doc_id = f"{prefix}{i}"
            store.add(*item(doc_id, f"Writer {prefix} wrote document {i}. It mentions token{prefix}{i}."))
            other = b if store is a else a
            assert other.get_document(doc_id) is not None  # visible through the other replica at once
            if i % 3 == 0:
                assert other.delete(doc_id) is True

    def searcher(store):
        while not stop.is_set():
            hits = store.search(unit_vector("rivers and castles"), 5)
            assert hits and all(text_slices(store, chunk) for chunk, _ in hits[:1])
            store.keyword.search("writer document river", 10)
            store.list_documents(limit=100)

    def text_slices(store, chunk):
        document = store.get_document(chunk.doc_id)
        return document is None or document.text[chunk.start : chunk.end] == chunk.text  # None: deleted meanwhile

    writers = [threading.Thread(target=guarded(lambda s=s, p=p: writer(s, p))) for s, p in ((a, "x"), (b, "y"))]
    searchers = [threading.Thread(target=guarded(lambda s=s: searcher(s))) for s in (a, b, a, b)]
    for thread in writers + searchers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    stop.set()
    for thread in searchers:
        thread.join(timeout=60)
    assert errors == []
    expected = set(CORPUS) | {f"{p}{i}" for p in "xy" for i in range(12) if i % 3}
    assert {info.id for info in b.list_documents(limit=1000)} == expected
    assert a.verify() == [] and a.count_chunks() == a.count_vectors() == 2 * len(expected)


def test_one_document_written_by_both_replicas_at_once_ends_whole(replicas):
    a, b = replicas
    errors: list[BaseException] = []

    def write(store, n):
        try:
            for i in range(8):
                store.add(*item("same", f"Version {n}.{i} of the document. " * (1 + i % 3)))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate((a, b, a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    document = a.get_document("same")
    chunks = a.chunks_of("same")
    assert a.count_documents() == 1 and "".join(c.text for c in chunks) == document.text
    assert a.verify() == []


WRITER = """
import sys
from pathlib import Path
from index.store import StoreConfig, open_store
from tests.index.store_contract import DIM, item

store = open_store(StoreConfig(Path("."), DIM, "test", database_url=sys.argv[1]))
i = 0
while True:
    text = " ".join(f"Sentence {j} of document {i} about topic {i % 7}." for j in range(40))
    store.add(*item(f"doc{i}", text))
    print(f"doc{i}", flush=True)
    i += 1
"""


def test_kill_9_of_a_writer_mid_add_loses_nothing_committed_and_leaves_no_half_document(postgres_url, tmp_path):
    open_pg(postgres_url).close()  # the schema exists before the writer starts
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    committed: list[str] = []
    for round_ in range(3):  # kill it at three different moments
        child = subprocess.Popen(
            [sys.executable, str(script), postgres_url], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO
        )
        assert child.stdout is not None
        for _ in range(3 + 2 * round_):
            line = child.stdout.readline()
            assert line, "the writer died before being killed"
            committed.append(line.strip())
        time.sleep(0.01 * round_)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        committed += [line.strip() for line in child.stdout.read().splitlines()]
    store = open_pg(postgres_url)
    try:
        stored = {info.id: info for info in store.list_documents(limit=1000)}
        assert set(committed) <= set(stored)  # everything acknowledged is there
        for doc_id, info in stored.items():
            assert info.chunks == 40, f"{doc_id} has {info.chunks} of its 40 chunks"
        assert store.verify() == [] and store.count_chunks() == store.count_vectors() == 40 * len(stored)
    finally:
        store.close()


def test_migrations_run_once_even_when_many_processes_start_together(postgres_url):
    errors: list[BaseException] = []
    stores = []

    def start():
        try:
            stores.append(open_pg(postgres_url, pool_size=1))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for store in stores:
        store.close()
    assert errors == [] and len(stores) == 6
    with psycopg.connect(postgres_url) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
        meta = dict(conn.execute("SELECT key, value FROM spanqa_meta").fetchall())
    assert meta == {"model_name": "test", "dimension": str(DIM), "backend": "postgres"}


def test_a_database_of_an_older_schema_is_migrated_at_start(postgres_url):
    store = open_pg(postgres_url)
    fill(store)
    expected = store.keyword.search("river city", 5)
    store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # back to schema 1: no keyword counters
        conn.execute("DROP TABLE keyword_stats")
        conn.execute("DROP TABLE feedback, job_file_data, stored_values, job_files, jobs")  # migrations 3 to 5
        conn.execute("DELETE FROM schema_version WHERE version > 1")
    with pytest.raises(Exception, match="schema version 1"):
        open_pg(postgres_url, read_only=True)  # read-only opens never migrate
    store = open_pg(postgres_url)
    try:
        assert store.verify() == [] and store.keyword.search("river city", 5) == expected
        store.delete("warsaw")
        assert store.verify() == []
    finally:
        store.close()


def test_another_embedding_model_is_refused_and_rebuild_switches_it(postgres_url):
    store = open_pg(postgres_url)
    fill(store)
    store.close()
    for model, dimension in (("other-model", DIM), ("test", DIM + 1)):
        with pytest.raises(IndexModelMismatch, match="spanqa index rebuild"):
            open_pg(postgres_url, model, dimension)
    store = open_pg(postgres_url, "other-model", 4, check_model=False)
    assert (store.model_name, store.dimension) == ("test", DIM)

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([unit_vector(t)[:4] / np.linalg.norm(unit_vector(t)[:4]) for t in texts])

    for _ in range(6):  # psycopg prepares a statement run 5 times: the rebuild must not break them
        store.chunk_vectors([1, 2])
    store.rebuild_vectors("other-model", 4, embed)
    assert {len(v) for v in store.chunk_vectors(range(1, 100)).values()} == {4}
    store.close()
    store = open_pg(postgres_url, "other-model", 4)
    try:
        target = store.chunks_of("warsaw")[0]
        assert store.search(embed([target.text])[0], 1)[0][0] == target
        assert store.verify() == [] and store.count_vectors() == 2 * len(CORPUS)
    finally:
        store.close()


def test_text_postgres_cannot_hold_is_a_value_error(postgres_url):
    store = open_pg(postgres_url)
    try:
        for text in ("Nul \x00 inside. Text.", "Lone \ud800 surrogate. Text."):
            with pytest.raises(ValueError):
                store.add(*item("odd", text))
        with pytest.raises(ValueError):
            store.add(*item("odd", "Fine text.", metadata={"k": "nul \x00"}))
        assert store.count_documents() == 0
    finally:
        store.close()


def test_unusable_databases_are_index_errors_without_the_password(postgres_url):
    with pytest.raises(IndexError_) as raised:
        open_pg("postgresql://spanqa:s3cret@/nowhere?host=/nonexistent-socket-dir")
    assert "s3cret" not in str(raised.value) and "***" in str(raised.value)
    with pytest.raises(IndexError_, match="no spanqa index"):
        open_pg(postgres_url, read_only=True)


def test_keyword_scores_are_the_sqlite_backends_bm25(postgres_url, tmp_path):
    """Same tokens, same BM25 (k1, b, IDF) as SQLite's FTS5: the same chunks with the same scores."""
    sqlite, postgres = open_store(StoreConfig(tmp_path, DIM, "test")), open_pg(postgres_url)
    try:
        for store in (sqlite, postgres):
            fill(store)
        for query in ("Which part is XQ7731B?", "river city", "castles built of stone on the river", "packets"):
            expected = [(sqlite.get_chunks([i])[0].text, s) for i, s in sqlite.keyword.search(query, 5)]
            got = [(postgres.get_chunks([i])[0].text, s) for i, s in postgres.keyword.search(query, 5)]
            assert [text for text, _ in got] == [text for text, _ in expected]
            assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9)
    finally:
        sqlite.close()
        postgres.close()


def test_connections_the_server_dropped_are_replaced(postgres_url):
    """As after a failover or a restart: the pool hands out a fresh connection, no request fails."""
    store = open_pg(postgres_url, pool_size=2)
    try:
        fill(store)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        assert store.count_documents() == len(CORPUS)
        assert store.search(unit_vector("q"), 3) and store.keyword.search("river", 3)
    finally:
        store.close()
