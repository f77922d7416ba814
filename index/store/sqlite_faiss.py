"""The SQLite + FAISS store: SQLite is the source of truth, FAISS a derived in-memory cache.

Layout of a data directory:
- `spanqa.sqlite3` — documents, chunks (each with its vector as a float32 blob), the chunks' keyword
  index and `meta` (model_name, dimension, schema_version, backend, generation, write_token). WAL
  mode; every write is one durable transaction that also bumps the stamp (`sqlite_db`).
- `index.faiss` + `index.json` — the FAISS index as of the stamp in `index.json` (`faiss_file`),
  written on `flush()`/`close()` and every `persist_every` writes, never per write. At open it is
  used only if its stamp matches SQLite's, else rebuilt from SQLite; `check()` then compares ids.
- `writer.lock` — held by the one process that may write (`filelock`); read-only opens skip it.

Threads: writes are serialised by a lock; searches run concurrently with each other and never see a
half-applied write (a readers-writer lock spans the FAISS update and the SQLite commit). Each thread
reads on its own connection; the connections of threads that have ended are closed.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import faiss
import filelock
import numpy as np

from errors import IndexCorrupt, IndexError_
from index.store.faiss_file import save_vectors
from index.store.faiss_index import IndexType, VectorIndex
from index.store.faiss_sync import (
    begin_model_switch,
    build_from_sqlite,
    catch_up,
    embed_all,
    id_disagreement,
    load_current,
    stamp_and_chunk_ids,
)
from index.store.keyword_fts import FtsKeywordSearch
from index.store.rwlock import ReadWriteLock
from index.store.sqlite_connections import ThreadConnections, open_writer
from index.store.sqlite_db import DB_FILE, bump_generation, check_meta, connect, read_meta, stamp_of
from index.store.sqlite_feedback import SqliteFeedback
from index.store.sqlite_jobs import SqliteJobStore
from index.store.sqlite_reads import SqliteReads
from index.store.sqlite_rows import fetch_chunks, ids_of_documents, write_rows
from index.store.sqlite_verify import sqlite_problems
from index.store.values import SqliteValues
from index.store.write_checks import Prepared, prepare
from index.types import Chunk, Document

logger = logging.getLogger(__name__)

BACKEND = "sqlite-faiss"


class FaissSqliteStore(SqliteReads):
    """The `Store`: documents, chunks and vectors in SQLite; a FAISS index over the vectors in memory.

    `read_only=True` opens without the writer lock (while another process writes) and never writes;
    it applies that process's commits at the next search. `persist_every`: write the FAISS file after
    this many writes (besides `flush()`/`close()`). `faiss_threads`: OpenMP threads per FAISS call, set
    for the calling thread only; 1 suits single-query searches from many request threads.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        dimension: int,
        model_name: str,
        index_type: IndexType = "flat",
        read_only: bool = False,
        persist_every: int = 200,
        faiss_threads: int = 1,
        _check_model: bool = True,
    ) -> None:
        if index_type not in ("flat", "hnsw"):
            raise ValueError(f"unknown index type {index_type!r}; use 'flat' or 'hnsw'")
        self.directory = Path(directory)
        self.dimension = int(dimension)
        self.model_name = model_name
        self.index_type: IndexType = index_type
        self.read_only = read_only
        self.persist_every = persist_every
        self.faiss_threads = faiss_threads
        self._db_path = self.directory / DB_FILE
        self._write_lock = threading.RLock()
        self._rw = ReadWriteLock()
        self._refresh_lock = threading.Lock()
        self.keyword = FtsKeywordSearch(self._reader)  # BM25 over these chunks, in the same database
        self.jobs = SqliteJobStore(functools.partial(connect, self._db_path, read_only=read_only, writer=not read_only))
        self.values = SqliteValues(functools.partial(connect, self._db_path, read_only=read_only, writer=not read_only))
        self.feedback = SqliteFeedback(self._reader, lambda: self._writer_conn, self._write_lock)
        self._readers = ThreadConnections(self._db_path, read_only)
        self._writer_conn: sqlite3.Connection | None = None
        self._file_lock: filelock.BaseFileLock | None = None
        self._writes_since_persist = 0
        self._closed = False
        self._vectors = VectorIndex(self.dimension, index_type)
        self._stamp: dict[str, object] = {"generation": -1}  # the SQLite write `_vectors` reflects
        self._persisted_stamp: dict[str, object] | None = None  # the write the index file reflects
        try:
            if read_only:
                if not self._db_path.exists():
                    raise IndexError_(f"no index in {self.directory} yet: ingest some documents first")
            else:
                self._file_lock, self._writer_conn = open_writer(self.directory, model_name, self.dimension, BACKEND)
            try:
                meta = read_meta(self._reader())
            except sqlite3.DatabaseError as error:
                raise IndexCorrupt(f"{self._db_path} is not a readable spanqa database: {error}") from error
            self.model_name, self.dimension = check_meta(
                meta, self._db_path, model_name, self.dimension, _check_model, BACKEND
            )
            self._load_or_rebuild()
        except BaseException:
            self._close(persist=False)
            raise

    @classmethod
    def open_for_rebuild(
        cls, directory: Path | str, *, model_name: str, dimension: int, index_type: IndexType = "flat"
    ) -> FaissSqliteStore:
        """Alias of `open_store(StoreConfig(..., check_model=False))`, kept for older callers."""
        from index.store.factory import StoreConfig, open_store

        config = StoreConfig(Path(directory), dimension, model_name, index_type=index_type, check_model=False)
        store = open_store(config)
        assert isinstance(store, FaissSqliteStore)
        return store

    @property
    def _generation(self) -> int:
        return int(self._stamp["generation"])  # type: ignore[call-overload]

    # ---- connections ------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        """This thread's connection for reads (sees committed data only)."""
        if self._closed:
            raise RuntimeError("the store is closed")
        return self._readers.get()

    def open_connections(self) -> int:  # the writer's and one per living reader thread
        return len(self._readers) + (self._writer_conn is not None)

    def _faiss_threads(self) -> None:  # OpenMP's thread count is per thread: set wherever a thread calls FAISS
        faiss.omp_set_num_threads(self.faiss_threads)

    # ---- the FAISS cache --------------------------------------------------------------------

    def _load_or_rebuild(self) -> None:
        with self._rw.writing():
            loaded = self._load_persisted()
            if loaded is not None:
                self._persisted_stamp = loaded[1]
            self._vectors, self._stamp = loaded or self._build_from_sqlite("no usable index file")
        try:
            self.check()
        except IndexCorrupt as error:
            logger.warning("FAISS index disagrees with SQLite (%s); rebuilding it once", error)
            with self._rw.writing():
                self._vectors, self._stamp = self._build_from_sqlite("consistency check failed")
                self._persisted_stamp = None
            self.check()

    def _load_persisted(self) -> tuple[VectorIndex, dict[str, object]] | None:
        return load_current(self._reader(), self.directory, self.dimension, self.index_type)

    def _build_from_sqlite(self, reason: str) -> tuple[VectorIndex, dict[str, object]]:
        self._faiss_threads()
        return build_from_sqlite(self._reader(), self.dimension, self.index_type, reason)

    def _refresh_if_stale(self) -> None:
        """Read-only stores: catch up with commits made by the writing process."""
        if stamp_of(read_meta(self._reader())) == self._stamp:
            return
        with self._refresh_lock:
            if stamp_of(read_meta(self._reader())) == self._stamp:
                return
            self._faiss_threads()
            stamp, added_ids, added, removed = catch_up(self._reader(), self._vectors)
            with self._rw.writing():  # never a rebuild: only what the writer changed
                self._vectors.remove(removed)
                self._vectors.add(added_ids, added)
                self._stamp = stamp
                if self._vectors.needs_compaction():
                    self._vectors = self._vectors.compacted()

    def flush(self) -> None:
        """Write the FAISS index to disk (temp file + rename), with the stamp of the write it reflects."""
        if self.read_only or self._closed:
            return
        with self._write_lock, self._rw.reading():
            if self._persisted_stamp == self._stamp:
                return  # the file is current
            save_vectors(self.directory, self._vectors, self._stamp, self.model_name)
            self._writes_since_persist = 0
            self._persisted_stamp = dict(self._stamp)

    def still_exists(self) -> bool:
        """Its database file is there (a collection is deleted by removing its directory)."""
        return self._db_path.is_file()

    def check(self) -> None:
        """Raise IndexCorrupt unless the FAISS ids are exactly the SQLite chunk ids."""
        for _ in range(3):
            if self.read_only:
                self._refresh_if_stale()
            with self._rw.reading():
                stamp, stored = stamp_and_chunk_ids(self._reader())
                if stamp != self._stamp and self.read_only:
                    continue  # the writer committed meanwhile; catch up and compare again
                problem = id_disagreement(self._vectors, stored)
                if stamp != self._stamp or problem:
                    raise IndexCorrupt(
                        f"FAISS and SQLite disagree in {self.directory}: {problem or 'the same ids'}"
                        f" (FAISS at {self._stamp}, SQLite at {stamp})"
                    )
                return
        raise IndexCorrupt(f"the index in {self.directory} keeps changing under a read-only check")

    def verify(self) -> list[str]:
        """A deeper check than `check()`, for `spanqa index check`: the problems found, [] when none.

        FAISS ids equal to SQLite chunk ids; SQLite's integrity check; no chunk without its document
        and no document without chunks; every chunk slices its document's text exactly (what every
        citation relies on) and names a page the document has.
        """
        problems: list[str] = []
        try:
            self.check()
        except IndexCorrupt as error:
            problems.append(str(error))
        return problems + sqlite_problems(self._reader(), self.dimension)

    def count_vectors(self) -> int:
        """Live vectors in the FAISS index (equals `count_chunks()` when consistent)."""
        with self._rw.reading():
            return self._vectors.live_count()

    # ---- writes -----------------------------------------------------------------------------
    def add(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> list[Chunk]:
        """Store `document` with its chunks and their vectors, replacing any document with its id."""
        return self.add_many([(document, chunks, vectors)])[0]

    def add_many(self, items: list[tuple[Document, list[Chunk], np.ndarray]]) -> list[list[Chunk]]:
        """`add` for many documents in one transaction. All or nothing."""
        prepared = [prepare(document, chunks, vectors, self.dimension) for document, chunks, vectors in items]
        return self._write(prepared, delete_ids=()) if prepared else []

    def delete(self, doc_id: str) -> bool:
        """Remove a document with its chunks; False if there was none."""
        return bool(self._write([], delete_ids=(doc_id,)))

    def _write(self, items: list[Prepared], delete_ids: Sequence[str]) -> Any:
        """One transaction: delete `delete_ids`, replace-or-insert `items`, bump the stamp, and apply
        the same change to FAISS. On any error both are left as they were.

        Returns the stored chunks per item, or (with only deletions) how many documents were deleted.
        """
        if self.read_only:
            raise IndexError_("this index is open read-only")
        with self._write_lock:
            conn = self._writer_conn
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                change = write_rows(conn, items, delete_ids)
                if change is None:
                    conn.execute("ROLLBACK")  # nothing to do: leave the generation alone
                    return 0
                stamp = bump_generation(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._apply_to_faiss(conn, change.removed, change.added, stamp)
        return change.stored if items else change.deleted

    def _apply_to_faiss(
        self, conn: sqlite3.Connection, removed: set[int], added: dict[int, np.ndarray], stamp: dict[str, object]
    ) -> None:
        """Commit, and apply the same change to FAISS while no search runs."""
        self._faiss_threads()
        with self._rw.writing():
            try:
                self._vectors.remove(removed)
                if added:
                    ids = np.fromiter(added, dtype=np.int64, count=len(added))
                    self._vectors.add(ids, np.stack(list(added.values())))
                conn.execute("COMMIT")
                self._stamp = stamp
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._vectors, self._stamp = self._build_from_sqlite("a write failed")
                raise
            if self._vectors.needs_compaction():
                self._vectors = self._vectors.compacted()
        self._writes_since_persist += 1
        if self._writes_since_persist >= self.persist_every:
            self.flush()

    def rebuild_vectors(
        self, model_name: str, dimension: int, embed: Callable[[list[str]], np.ndarray], batch_size: int = 256
    ) -> None:
        """Re-embed every chunk with `embed` and record `model_name`/`dimension` as the index's model.

        Embedding happens before anything is written; the switch is one transaction.
        """
        if self.read_only:
            raise IndexError_("this index is open read-only")
        with self._write_lock:
            conn = self._writer_conn
            assert conn is not None
            rows = conn.execute("SELECT id, text FROM chunks ORDER BY id").fetchall()
            ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
            matrix = embed_all([row[1] for row in rows], embed, dimension, batch_size)
            self._faiss_threads()
            fresh = VectorIndex(dimension, self.index_type)
            fresh.add(ids, matrix)
            stamp = begin_model_switch(conn, ids, matrix, model_name, dimension)
            with self._rw.writing():
                conn.execute("COMMIT")
                self._vectors, self._stamp = fresh, stamp
                self.model_name, self.dimension = model_name, dimension
            logger.info("re-embedded %d chunks with %s (dimension %d)", len(rows), model_name, dimension)
            self.flush()

    # ---- vector search ----------------------------------------------------------------------
    def search(self, vector: np.ndarray, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[Chunk, float]]:
        """The `k` chunks with the highest inner product with `vector`, best first, optionally only
        from the documents `doc_ids`."""
        query = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        if query.shape[1] != self.dimension:
            raise ValueError(f"query vector has dimension {query.shape[1]}, the index has {self.dimension}")
        if k <= 0 or (doc_ids is not None and not doc_ids):
            return []
        if self.read_only:
            self._refresh_if_stale()
        self._faiss_threads()
        with self._rw.reading():
            conn = self._reader()
            subset = None
            if doc_ids is not None:
                subset = np.asarray(ids_of_documents(conn, list(set(doc_ids))), dtype=np.int64)
                if not len(subset):
                    return []
            scores, ids = self._vectors.search(query, k, subset)
            by_id = fetch_chunks(conn, ids.tolist())
        return [(by_id[i], float(s)) for i, s in zip(ids.tolist(), scores.tolist()) if i in by_id]

    # ---- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Persist the FAISS index (if writable), close the database and release the writer lock."""
        self._close(persist=True)

    def _close(self, persist: bool) -> None:
        if self._closed:
            return
        try:
            if persist and not self.read_only and self._writer_conn is not None and self._generation >= 0:
                try:
                    self.flush()
                except Exception:  # closing must not fail; the next open rebuilds from SQLite
                    logger.exception("could not persist the FAISS index on close")
        finally:
            with self._write_lock, self._rw.writing():  # let running writes and searches finish
                self._closed = True
                self._readers.close_all()
                if self._writer_conn is not None:
                    self._writer_conn.close()
                    self._writer_conn = None
            if self._file_lock is not None:
                self._file_lock.release()
                self._file_lock = None

    def __enter__(self) -> FaissSqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
