"""Document and vector storage: SQLite is the source of truth, FAISS a derived in-memory cache.

Layout of a data directory:
- `spanqa.sqlite3` — documents, chunks (with each chunk's vector as a float32 blob) and `meta`
  (model_name, dimension, schema_version, generation). WAL mode; every write is one transaction
  that also bumps `generation`.
- `index.faiss` + `index.json` — the FAISS index as of the generation named in `index.json`,
  written on `flush()`/`close()` and every `persist_every` writes (temp file + `os.replace`). On open
  it is used only if its generation, type, dimension and checksum match; otherwise the index is rebuilt
  from the vectors in SQLite. Either way, `check()` then compares FAISS ids with SQLite chunk ids.
- `writer.lock` — held by the one process that may write (`filelock`); read-only opens skip it.

Threads: writes are serialised by a lock; searches run concurrently with each other and never see a
half-applied write (a readers-writer lock spans the FAISS update and the SQLite commit).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import faiss
import filelock
import numpy as np

from errors import IndexCorrupt, IndexError_, IndexLocked, IndexModelMismatch
from index.types import Chunk, Document, Page

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DB_FILE = "spanqa.sqlite3"
INDEX_FILE = "index.faiss"
INDEX_META_FILE = "index.json"
LOCK_FILE = "writer.lock"

IndexType = Literal["flat", "hnsw"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    chars INTEGER NOT NULL,
    pages TEXT NOT NULL,
    page_count INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    source TEXT,
    content_type TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    page INTEGER,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS documents_by_created ON documents(created_at, id);
"""

_CHUNK_COLUMNS = "id, doc_id, start_char, end_char, page, text"
_INFO_COLUMNS = (
    "d.id, d.title, d.chars, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id), d.content_type, d.source,"
    " d.metadata, d.content_hash, d.created_at, d.page_count"
)
_SQL_VARIABLES = 500  # ids per `IN (...)` query, well under SQLite's limit


@dataclass(frozen=True)
class DocumentInfo:
    """A row of the document list: a document without its text."""

    id: str
    title: str
    chars: int
    chunks: int
    content_type: str
    source: str | None
    metadata: dict[str, Any]
    content_hash: str
    created_at: float
    pages: int


@dataclass(frozen=True)
class ChunkSnapshot:
    """Every stored chunk (by id) as of one write `generation`: what derived indexes (BM25) are built from."""

    generation: int
    ids: list[int]
    doc_ids: list[str]
    texts: list[str]  # empty strings when taken without text


class Store(Protocol):
    """What the rest of spanqa needs from a document + vector store."""

    dimension: int
    model_name: str

    def add(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> list[Chunk]: ...
    def add_many(self, items: list[tuple[Document, list[Chunk], np.ndarray]]) -> list[list[Chunk]]: ...
    def delete(self, doc_id: str) -> bool: ...
    def get_document(self, doc_id: str) -> Document | None: ...
    def get_info(self, doc_id: str) -> DocumentInfo | None: ...
    def list_documents(self, offset: int = 0, limit: int = 50) -> list[DocumentInfo]: ...
    def count_documents(self) -> int: ...
    def doc_ids_matching(self, metadata: Mapping[str, Any]) -> list[str]: ...
    def count_chunks(self) -> int: ...
    def get_chunks(self, chunk_ids: Sequence[int]) -> list[Chunk]: ...
    def chunks_of(self, doc_id: str) -> list[Chunk]: ...
    def all_chunk_ids(self) -> list[int]: ...
    def generation(self) -> int: ...
    def chunk_snapshot(self, with_text: bool = True) -> ChunkSnapshot: ...
    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]: ...
    def search(
        self, vector: np.ndarray, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[Chunk, float]]: ...
    def check(self) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class _ReadWriteLock:
    """Many readers or one writer; a waiting writer holds back new readers. Not reentrant."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            while self._writing or self._writers_waiting:
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                if not self._readers:
                    self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._condition.wait()
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


class _VectorIndex:
    """The FAISS side: chunk id -> vector, inner-product search, for "flat" or "hnsw".

    HNSW cannot remove vectors, so removed ids become tombstones that searches skip; `compacted()`
    rebuilds without them.
    """

    HNSW_M = 32
    HNSW_EF_CONSTRUCTION = 80
    HNSW_EF_SEARCH = 64
    EXACT_SUBSET = 4096  # hnsw: a doc_ids filter over at most this many chunks is searched exactly

    def __init__(self, dimension: int, index_type: IndexType, index: faiss.IndexIDMap2 | None = None) -> None:
        self.dimension = dimension
        self.index_type = index_type
        if index is None:
            if index_type == "flat":
                base = faiss.IndexFlatIP(dimension)
            elif index_type == "hnsw":
                base = faiss.IndexHNSWFlat(dimension, self.HNSW_M, faiss.METRIC_INNER_PRODUCT)
                base.hnsw.efConstruction = self.HNSW_EF_CONSTRUCTION
            else:
                raise ValueError(f"unknown index type {index_type!r}; use 'flat' or 'hnsw'")
            index = faiss.IndexIDMap2(base)
        self.index = index
        self.tombstones: set[int] = set()
        self._skip_tombstones: Any = None  # cached IDSelector over the tombstones

    def all_ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64, copy=False)

    def live_count(self) -> int:
        return self.index.ntotal - len(self.tombstones)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: Collection[int]) -> None:
        if not ids:
            return
        if self.index_type == "flat":
            self.index.remove_ids(faiss.IDSelectorBatch(np.fromiter(ids, dtype=np.int64, count=len(ids))))
        else:
            self.tombstones.update(ids)
            self._skip_tombstones = None

    def needs_compaction(self) -> bool:
        return bool(self.tombstones) and len(self.tombstones) > 0.25 * self.index.ntotal

    def compacted(self) -> _VectorIndex:
        live = np.setdiff1d(self.all_ids(), np.fromiter(self.tombstones, dtype=np.int64), assume_unique=True)
        fresh = _VectorIndex(self.dimension, self.index_type)
        fresh.add(live, self.index.reconstruct_batch(live) if len(live) else np.zeros((0, self.dimension), np.float32))
        return fresh

    def search(self, query: np.ndarray, k: int, subset: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the best `k` live vectors (restricted to `subset` if given), best first."""
        k = min(k, self.live_count() if subset is None else len(subset))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if self.index_type == "flat":
            selector = None if subset is None else faiss.IDSelectorBatch(subset)
            params = None if selector is None else faiss.SearchParameters(sel=selector)
        elif subset is not None and len(subset) <= self.EXACT_SUBSET:
            subset = subset[np.isin(subset, self.all_ids())]  # a read-only store may lag behind SQLite
            if not len(subset):
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            k = min(k, len(subset))
            vectors = self.index.reconstruct_batch(subset)
            scores = vectors @ query[0]
            order = np.argsort(-scores, kind="stable")[:k]
            return scores[order], subset[order]
        else:
            if subset is not None:
                selector = faiss.IDSelectorBatch(subset)
            elif self.tombstones:
                if self._skip_tombstones is None:
                    tombstones = np.fromiter(self.tombstones, dtype=np.int64, count=len(self.tombstones))
                    batch = faiss.IDSelectorBatch(tombstones)
                    self._skip_tombstones = (faiss.IDSelectorNot(batch), batch)  # keep `batch` alive
                selector = self._skip_tombstones[0]
            else:
                selector = None
            params = faiss.SearchParametersHNSW(efSearch=max(self.HNSW_EF_SEARCH, 2 * k))
            if selector is not None:
                params.sel = selector
        scores, ids = self.index.search(query, k, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def serialize(self) -> np.ndarray:
        return faiss.serialize_index(self.index)

    @classmethod
    def deserialize(cls, data: np.ndarray, dimension: int, index_type: IndexType) -> _VectorIndex:
        index = faiss.deserialize_index(data)
        if not isinstance(index, faiss.IndexIDMap2) or index.d != dimension:
            raise ValueError("not an IndexIDMap2 of the expected dimension")
        return cls(dimension, index_type, index)


@dataclass
class _Prepared:
    """A document and its chunks ready for insertion (validated before any write starts)."""

    document: Document
    chunks: list[Chunk]
    vectors: np.ndarray


class FaissSqliteStore:
    """The `Store`: documents, chunks and vectors in SQLite; a FAISS index over the vectors in memory.

    `read_only=True` opens without the writer lock (while another process writes) and never writes;
    it picks up that process's commits at the next search. `persist_every`: write the FAISS file after
    this many writes (besides `flush()`/`close()`). `faiss_threads`: OpenMP threads per FAISS call, set
    for the calling thread only; 1 suits single-query searches from many request threads (with more,
    a busy CPU makes each search many times slower).
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
        self._rw = _ReadWriteLock()
        self._refresh_lock = threading.Lock()
        self._local = threading.local()
        self.keyword: Any = None  # the keyword index over these chunks, set by `open_store`
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._writer_conn: sqlite3.Connection | None = None
        self._file_lock: filelock.BaseFileLock | None = None
        self._writes_since_persist = 0
        self._closed = False
        self._vectors = _VectorIndex(self.dimension, index_type)
        self._generation = -1  # the SQLite generation `_vectors` reflects
        self._persisted_generation: int | None = None  # the generation the index file holds

        try:
            if read_only:
                if not self._db_path.exists():
                    raise IndexError_(f"no index in {self.directory} yet: ingest some documents first")
            else:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._file_lock = filelock.FileLock(self.directory / LOCK_FILE, timeout=0, thread_local=False)
                try:
                    self._file_lock.acquire()
                except filelock.Timeout:
                    self._file_lock = None
                    raise IndexLocked(
                        f"the data directory {self.directory} is in use by another spanqa process "
                        f"(it holds {self.directory / LOCK_FILE}); stop that process, or open the index read-only"
                    ) from None
                try:
                    self._writer_conn = self._connect()
                    self._init_schema()
                except sqlite3.DatabaseError as error:
                    raise IndexCorrupt(f"{self._db_path} is not a usable spanqa database: {error}") from error
            self._check_meta(_check_model)
            self._load_or_rebuild()
        except BaseException:
            self._close(persist=False)
            raise

    @classmethod
    def open_for_rebuild(
        cls, directory: Path | str, *, model_name: str, dimension: int, index_type: IndexType = "flat"
    ) -> FaissSqliteStore:
        """Open (as the writer) whatever model the index was built with, to call `rebuild_vectors`.

        A new directory is initialised for `model_name` and `dimension`.
        """
        return cls(directory, dimension=dimension, model_name=model_name, index_type=index_type, _check_model=False)

    # ---- connections and setup ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            conn = sqlite3.connect(
                f"{self._db_path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False, timeout=30
            )
        else:
            conn = sqlite3.connect(self._db_path, check_same_thread=False, timeout=30)
        conn.isolation_level = None  # explicit BEGIN/COMMIT
        conn.execute("PRAGMA foreign_keys = ON")
        if not self.read_only and not self._connections:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def _faiss_threads(self) -> None:
        """OpenMP's thread count is per calling thread: set it wherever this thread calls FAISS."""
        faiss.omp_set_num_threads(self.faiss_threads)

    def _reader(self) -> sqlite3.Connection:
        """This thread's connection for reads (sees committed data only)."""
        if self._closed:
            raise RuntimeError("the store is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            if not self.read_only:
                conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
        return conn

    def _init_schema(self) -> None:
        conn = self._writer_conn
        assert conn is not None
        conn.executescript(_SCHEMA)  # idempotent; runs outside any transaction
        conn.execute("BEGIN IMMEDIATE")
        try:
            defaults = {
                "model_name": self.model_name,
                "dimension": str(self.dimension),
                "schema_version": str(SCHEMA_VERSION),
                "generation": "0",
            }
            conn.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", defaults.items())
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _meta(self, conn: sqlite3.Connection) -> dict[str, str]:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())

    def _check_meta(self, check_model: bool) -> None:
        try:
            meta = self._meta(self._reader())
        except sqlite3.DatabaseError as error:
            raise IndexCorrupt(f"{self._db_path} is not a readable spanqa database: {error}") from error
        if int(meta.get("schema_version", -1)) != SCHEMA_VERSION:
            raise IndexCorrupt(
                f"{self._db_path} has schema version {meta.get('schema_version')}, this spanqa needs {SCHEMA_VERSION}"
            )
        stored_model, stored_dimension = meta["model_name"], int(meta["dimension"])
        if check_model and (stored_model != self.model_name or stored_dimension != self.dimension):
            raise IndexModelMismatch(
                f"the index in {self.directory} was built with embedding model {stored_model!r} "
                f"(dimension {stored_dimension}), but the configured model is {self.model_name!r} "
                f"(dimension {self.dimension}); run `spanqa index rebuild` to re-embed every chunk with the "
                f"configured model, or configure {stored_model!r} again"
            )
        self.model_name, self.dimension = stored_model, stored_dimension

    # ---- the FAISS cache --------------------------------------------------------------------

    def _load_or_rebuild(self) -> None:
        with self._rw.writing():
            loaded = self._load_persisted()
            if loaded is not None:
                self._persisted_generation = loaded[1]
            self._vectors, self._generation = loaded or self._build_from_sqlite("no usable index file")
        try:
            self.check()
        except IndexCorrupt as error:
            logger.warning("FAISS index disagrees with SQLite (%s); rebuilding it once", error)
            with self._rw.writing():
                self._vectors, self._generation = self._build_from_sqlite("consistency check failed")
                self._persisted_generation = None
            self.check()

    def _load_persisted(self) -> tuple[_VectorIndex, int] | None:
        """The persisted index if it reflects SQLite's current generation exactly, else None."""
        index_path, meta_path = self.directory / INDEX_FILE, self.directory / INDEX_META_FILE
        if not index_path.exists() or not meta_path.exists():
            return None
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            generation = int(self._meta(conn)["generation"])
            try:
                sidecar = json.loads(meta_path.read_text(encoding="utf-8"))
                data = np.fromfile(index_path, dtype=np.uint8)
            except (OSError, ValueError) as error:
                logger.warning("cannot read the persisted FAISS index (%s)", error)
                return None
            expected = {"generation": generation, "index_type": self.index_type, "dimension": self.dimension}
            if not isinstance(sidecar, dict) or any(sidecar.get(key) != value for key, value in expected.items()):
                logger.info("persisted FAISS index is stale or of another kind: %s != %s", sidecar, expected)
                return None
            if sidecar.get("blake2b") != hashlib.blake2b(data, digest_size=16).hexdigest():
                logger.warning("persisted FAISS index fails its checksum")
                return None
            try:
                vectors = _VectorIndex.deserialize(data, self.dimension, self.index_type)
            except (RuntimeError, ValueError) as error:
                logger.warning("cannot load the persisted FAISS index (%s)", error)
                return None
            if self.index_type == "hnsw":  # removed chunks are still in an HNSW graph
                live = np.fromiter((row[0] for row in conn.execute("SELECT id FROM chunks")), dtype=np.int64)
                vectors.tombstones = set(np.setdiff1d(vectors.all_ids(), live).tolist())
        finally:
            conn.execute("COMMIT")
        return vectors, generation

    def _build_from_sqlite(self, reason: str) -> tuple[_VectorIndex, int]:
        """A fresh index from the vectors stored in SQLite, read in one snapshot."""
        started = time.perf_counter()
        self._faiss_threads()
        vectors = _VectorIndex(self.dimension, self.index_type)
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            generation = int(self._meta(conn)["generation"])
            cursor = conn.execute("SELECT id, vector FROM chunks ORDER BY id")
            while rows := cursor.fetchmany(8192):
                ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype="<f4")
                vectors.add(ids, matrix.reshape(len(rows), self.dimension))
        finally:
            conn.execute("COMMIT")
        logger.info(
            "rebuilt the %s FAISS index from SQLite: %d vectors in %.2fs (%s)",
            self.index_type,
            vectors.index.ntotal,
            time.perf_counter() - started,
            reason,
        )
        return vectors, generation

    def _refresh_if_stale(self) -> None:
        """Read-only stores: catch up with commits made by the writing process."""
        generation = int(self._meta(self._reader())["generation"])
        if generation == self._generation:
            return
        with self._refresh_lock:
            if generation == self._generation:
                return
            loaded = self._load_persisted() or self._build_from_sqlite("the writing process committed changes")
            with self._rw.writing():
                self._vectors, self._generation = loaded

    def flush(self) -> None:
        """Write the FAISS index to disk (temp file + rename), with the generation it reflects."""
        if self.read_only or self._closed:
            return
        with self._write_lock, self._rw.reading():
            if self._persisted_generation == self._generation:
                return  # the file is current
            data = self._vectors.serialize()
            sidecar = {
                "generation": self._generation,
                "index_type": self.index_type,
                "dimension": self.dimension,
                "model_name": self.model_name,
                "vectors": int(self._vectors.index.ntotal),
                "blake2b": hashlib.blake2b(data, digest_size=16).hexdigest(),
            }
            write_atomically(self.directory / INDEX_FILE, data.tobytes())
            write_atomically(self.directory / INDEX_META_FILE, json.dumps(sidecar).encode())
            self._writes_since_persist = 0
            self._persisted_generation = self._generation

    def check(self) -> None:
        """Raise IndexCorrupt unless the FAISS ids are exactly the SQLite chunk ids."""
        for _ in range(3):
            if self.read_only:
                self._refresh_if_stale()
            with self._rw.reading():
                conn = self._reader()
                conn.execute("BEGIN")
                try:
                    generation = int(self._meta(conn)["generation"])
                    stored = np.fromiter((row[0] for row in conn.execute("SELECT id FROM chunks")), dtype=np.int64)
                finally:
                    conn.execute("COMMIT")
                if generation != self._generation and self.read_only:
                    continue  # the writer committed meanwhile; catch up and compare again
                all_ids = self._vectors.all_ids()
                tombstones = np.fromiter(self._vectors.tombstones, dtype=np.int64)
                live = np.setdiff1d(all_ids, tombstones)
                duplicates = len(all_ids) - len(np.unique(all_ids))
                missing = np.setdiff1d(stored, live)
                extra = np.setdiff1d(live, stored)
                if generation != self._generation or duplicates or len(missing) or len(extra):
                    raise IndexCorrupt(
                        f"FAISS and SQLite disagree in {self.directory}: {len(missing)} chunk vectors missing from "
                        f"FAISS, {len(extra)} unknown to SQLite, {duplicates} duplicated "
                        f"(generation {self._generation} vs {generation})"
                    )
                return
        raise IndexCorrupt(f"the index in {self.directory} keeps changing under a read-only check")

    def verify(self) -> list[str]:
        """A deeper check than `check()`, for `spanqa index check`: the problems found, [] when none.

        SQLite's own integrity check; FAISS ids equal to SQLite chunk ids; no chunk without its
        document and no document without chunks; every chunk slices its document's text exactly
        (what every citation relies on) and names a page the document has.
        """
        problems: list[str] = []
        try:
            self.check()
        except IndexCorrupt as error:
            problems.append(str(error))
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            integrity = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if integrity != ["ok"]:
                problems.append(f"SQLite integrity check: {'; '.join(integrity[:5])}")
            queries = {
                "chunks without their document": "SELECT COUNT(*) FROM chunks c"
                " WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = c.doc_id)",
                "documents without chunks": "SELECT COUNT(*) FROM documents d"
                " WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = d.id)",
                "chunks whose offsets do not slice their document's text to the chunk's text": "SELECT COUNT(*) FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.start_char < 0"
                " OR c.end_char > d.chars OR substr(d.text, c.start_char + 1, c.end_char - c.start_char) != c.text",
                "chunks on a page their document does not have": "SELECT COUNT(*) FROM chunks c"
                " JOIN documents d ON d.id = c.doc_id WHERE c.page IS NOT NULL AND (c.page < 1 OR c.page > d.page_count)",
                "chunk vectors of the wrong size": "SELECT COUNT(*) FROM chunks WHERE length(vector) != ?",
            }
            for problem, sql in queries.items():
                params = (4 * self.dimension,) if "?" in sql else ()
                count = conn.execute(sql, params).fetchone()[0]
                if count:
                    problems.append(f"{count} {problem}")
        finally:
            conn.execute("COMMIT")
        return problems

    # ---- writes -----------------------------------------------------------------------------

    def add(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> list[Chunk]:
        """Store `document` with its chunks and their vectors, replacing any document with its id."""
        return self.add_many([(document, chunks, vectors)])[0]

    def add_many(self, items: list[tuple[Document, list[Chunk], np.ndarray]]) -> list[list[Chunk]]:
        """`add` for many documents in one transaction. All or nothing."""
        prepared = [self._prepare(document, chunks, vectors) for document, chunks, vectors in items]
        return self._write(prepared, delete_ids=()) if prepared else []

    def delete(self, doc_id: str) -> bool:
        """Remove a document with its chunks; False if there was none."""
        return bool(self._write([], delete_ids=(doc_id,)))

    def _prepare(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> _Prepared:
        """Validate one item before anything is written (ValueError if anything is off)."""
        matrix = np.asarray(vectors, dtype=np.float32)
        if not chunks and matrix.size == 0:
            matrix = np.zeros((0, self.dimension), dtype=np.float32)
        if matrix.shape != (len(chunks), self.dimension):
            raise ValueError(
                f"document {document.id!r}: vectors have shape {np.shape(vectors)}, "
                f"expected ({len(chunks)}, {self.dimension}) for {len(chunks)} chunks"
            )
        if not np.isfinite(matrix).all():
            raise ValueError(f"document {document.id!r}: vectors contain NaN or infinity")
        for chunk in chunks:
            if chunk.doc_id != document.id:
                raise ValueError(f"chunk of {chunk.doc_id!r} given with document {document.id!r}")
            in_range = 0 <= chunk.start <= chunk.end <= len(document.text)
            if not in_range or document.text[chunk.start : chunk.end] != chunk.text:
                raise ValueError(
                    f"document {document.id!r}: chunk [{chunk.start}, {chunk.end}) does not slice to its text"
                )
        return _Prepared(document, list(chunks), np.ascontiguousarray(matrix, dtype="<f4"))

    def _write(self, items: list[_Prepared], delete_ids: Sequence[str]) -> Any:
        """One transaction: delete `delete_ids`, replace-or-insert `items`, bump the generation, and
        apply the same change to FAISS. On any error both are left as they were.

        Returns the stored chunks per item, or (with only deletions) how many documents were deleted.
        """
        if self.read_only:
            raise IndexError_("this index is open read-only")
        with self._write_lock:
            conn = self._writer_conn
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                removed: set[int] = set()
                added: dict[int, np.ndarray] = {}
                deleted = 0
                for doc_id in delete_ids:
                    deleted += self._delete_rows(conn, doc_id, removed, added)
                if not items and not deleted:
                    conn.execute("ROLLBACK")  # nothing to do: leave the generation alone
                    return 0
                (next_id,) = conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'chunks'"
                ).fetchone()
                stored: list[list[Chunk]] = []
                for item in items:
                    self._delete_rows(conn, item.document.id, removed, added)
                    next_id = self._insert_rows(conn, item, next_id, added, stored)
                generation = _bump_generation(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._faiss_threads()
            with self._rw.writing():
                try:
                    self._vectors.remove(removed)
                    if added:
                        ids = np.fromiter(added, dtype=np.int64, count=len(added))
                        self._vectors.add(ids, np.stack(list(added.values())))
                    conn.execute("COMMIT")
                    self._generation = generation
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    self._vectors, self._generation = self._build_from_sqlite("a write failed")
                    raise
                if self._vectors.needs_compaction():
                    self._vectors = self._vectors.compacted()
            self._writes_since_persist += 1
            if self._writes_since_persist >= self.persist_every:
                self.flush()
        return stored if items else deleted

    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, doc_id: str, removed: set[int], added: dict[int, np.ndarray]) -> int:
        """Delete a document's rows, noting its chunk ids for removal from FAISS."""
        for (chunk_id,) in conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,)):
            if added.pop(chunk_id, None) is None:  # added earlier in this same transaction?
                removed.add(chunk_id)
        return conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount

    @staticmethod
    def _insert_rows(
        conn: sqlite3.Connection, item: _Prepared, next_id: int, added: dict[int, np.ndarray], stored: list[list[Chunk]]
    ) -> int:
        document = item.document
        conn.execute(
            "INSERT INTO documents (id, title, text, chars, pages, page_count, metadata, source, content_type,"
            " content_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                document.id,
                document.title,
                document.text,
                len(document.text),
                json.dumps([[p.number, p.start, p.end] for p in document.pages]),
                len(document.pages),
                json.dumps(document.metadata, ensure_ascii=False),
                document.source,
                document.content_type,
                document.content_hash or hashlib.sha256(document.text.encode("utf-8", "surrogatepass")).hexdigest(),
                document.created_at or time.time(),
            ),
        )
        ids = range(next_id, next_id + len(item.chunks))
        conn.executemany(
            "INSERT INTO chunks (id, doc_id, start_char, end_char, page, text, vector) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (chunk_id, document.id, chunk.start, chunk.end, chunk.page, chunk.text, vector.tobytes())
                for chunk_id, chunk, vector in zip(ids, item.chunks, item.vectors)
            ),
        )
        for chunk_id, vector in zip(ids, item.vectors):
            added[chunk_id] = vector
        stored.append([replace(chunk, id=chunk_id) for chunk_id, chunk in zip(ids, item.chunks)])
        return next_id + len(item.chunks)

    def rebuild_vectors(
        self,
        model_name: str,
        dimension: int,
        embed: Callable[[list[str]], np.ndarray],
        batch_size: int = 256,
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
            matrix = np.zeros((len(rows), dimension), dtype="<f4")
            for begin in range(0, len(rows), batch_size):
                texts = [row[1] for row in rows[begin : begin + batch_size]]
                batch = np.asarray(embed(texts), dtype=np.float32)
                if batch.shape != (len(texts), dimension) or not np.isfinite(batch).all():
                    raise ValueError(
                        f"embed returned shape {batch.shape} or non-finite values; expected ({len(texts)}, {dimension})"
                    )
                matrix[begin : begin + len(texts)] = batch
            self._faiss_threads()
            fresh = _VectorIndex(dimension, self.index_type)
            fresh.add(ids, matrix)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "UPDATE chunks SET vector = ? WHERE id = ?",
                    ((vector.tobytes(), int(chunk_id)) for chunk_id, vector in zip(ids, matrix)),
                )
                conn.executemany(
                    "UPDATE meta SET value = ? WHERE key = ?",
                    ((model_name, "model_name"), (str(dimension), "dimension")),
                )
                generation = _bump_generation(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            with self._rw.writing():
                conn.execute("COMMIT")
                self._vectors, self._generation = fresh, generation
                self.model_name, self.dimension = model_name, dimension
            logger.info("re-embedded %d chunks with %s (dimension %d)", len(rows), model_name, dimension)
            self.flush()

    # ---- reads ------------------------------------------------------------------------------

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
                subset = np.asarray(self._ids_of_documents(conn, list(set(doc_ids))), dtype=np.int64)
                if not len(subset):
                    return []
            scores, ids = self._vectors.search(query, k, subset)
            by_id = self._fetch_chunks(conn, ids.tolist())
        return [(by_id[i], float(s)) for i, s in zip(ids.tolist(), scores.tolist()) if i in by_id]

    @staticmethod
    def _ids_of_documents(conn: sqlite3.Connection, doc_ids: list[str]) -> list[int]:
        ids: list[int] = []
        for begin in range(0, len(doc_ids), _SQL_VARIABLES):
            part = doc_ids[begin : begin + _SQL_VARIABLES]
            marks = ",".join("?" * len(part))
            ids.extend(row[0] for row in conn.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", part))
        ids.sort()
        return ids

    @staticmethod
    def _fetch_chunks(conn: sqlite3.Connection, chunk_ids: list[int]) -> dict[int, Chunk]:
        found: dict[int, Chunk] = {}
        for begin in range(0, len(chunk_ids), _SQL_VARIABLES):
            part = [int(i) for i in chunk_ids[begin : begin + _SQL_VARIABLES]]
            marks = ",".join("?" * len(part))
            for row in conn.execute(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", part):
                found[row[0]] = _chunk(row)
        return found

    def get_chunks(self, chunk_ids: Sequence[int]) -> list[Chunk]:
        """The chunks with these ids, in the same order; KeyError naming any id not stored."""
        found = self._fetch_chunks(self._reader(), list(chunk_ids))
        missing = [i for i in chunk_ids if i not in found]
        if missing:
            raise KeyError(f"no chunks with ids {missing[:10]}")
        return [found[i] for i in chunk_ids]

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        rows = self._reader().execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE doc_id = ? ORDER BY start_char, id", (doc_id,)
        )
        return [_chunk(row) for row in rows]

    def all_chunk_ids(self) -> list[int]:
        return [row[0] for row in self._reader().execute("SELECT id FROM chunks ORDER BY id")]

    def generation(self) -> int:
        """The write generation committed in SQLite. Every add, replace and delete bumps it, so an index
        derived from the chunks is current exactly when it was built at this generation."""
        return int(self._meta(self._reader())["generation"])

    def chunk_snapshot(self, with_text: bool = True) -> ChunkSnapshot:
        """Every chunk's id, document id and text, by id, read in one transaction with their generation."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            generation = int(self._meta(conn)["generation"])
            text = "text" if with_text else "''"
            rows = conn.execute(f"SELECT id, doc_id, {text} FROM chunks ORDER BY id").fetchall()
        finally:
            conn.execute("COMMIT")
        return ChunkSnapshot(generation, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of those of these chunks that exist."""
        conn = self._reader()
        found: dict[int, np.ndarray] = {}
        for begin in range(0, len(chunk_ids), _SQL_VARIABLES):
            part = [int(i) for i in chunk_ids[begin : begin + _SQL_VARIABLES]]
            marks = ",".join("?" * len(part))
            for chunk_id, blob in conn.execute(f"SELECT id, vector FROM chunks WHERE id IN ({marks})", part):
                found[chunk_id] = np.frombuffer(blob, dtype="<f4")
        return found

    def get_document(self, doc_id: str) -> Document | None:
        row = (
            self._reader()
            .execute(
                "SELECT id, title, text, pages, metadata, source, content_type, content_hash, created_at"
                " FROM documents WHERE id = ?",
                (doc_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return Document(
            id=row[0],
            title=row[1],
            text=row[2],
            pages=[Page(*page) for page in json.loads(row[3])],
            metadata=json.loads(row[4]),
            source=row[5],
            content_type=row[6],
            content_hash=row[7],
            created_at=row[8],
        )

    def get_info(self, doc_id: str) -> DocumentInfo | None:
        row = self._reader().execute(f"SELECT {_INFO_COLUMNS} FROM documents d WHERE d.id = ?", (doc_id,)).fetchone()
        return None if row is None else _info(row)

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[DocumentInfo]:
        """Documents in the order they were added (oldest first)."""
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        rows = self._reader().execute(
            f"SELECT {_INFO_COLUMNS} FROM documents d ORDER BY d.created_at, d.id LIMIT ? OFFSET ?", (limit, offset)
        )
        return [_info(row) for row in rows]

    def count_documents(self) -> int:
        return self._reader().execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def doc_ids_matching(self, metadata: Mapping[str, Any]) -> list[str]:
        """Ids of the documents whose metadata has every key of `metadata` with an equal value (JSON
        types compared: 1 matches 1.0 but neither "1" nor true); a list value matches any of its values."""
        clauses: list[str] = []
        params: list[Any] = []
        for key, value in metadata.items():
            if not isinstance(key, str) or not key or '"' in key:
                raise ValueError(f"metadata key {key!r} must be a non-empty string without '\"'")
            path = f'$."{key}"'
            alternatives: list[str] = []
            for item in value if isinstance(value, list) else [value]:
                if item is None:
                    alternatives.append("json_type(metadata, ?) = 'null'")
                    params.append(path)
                elif isinstance(item, bool):
                    alternatives.append("json_type(metadata, ?) = ?")
                    params += [path, "true" if item else "false"]
                elif isinstance(item, (int, float, str)):
                    types = "('text')" if isinstance(item, str) else "('integer', 'real')"
                    alternatives.append(f"(json_type(metadata, ?) IN {types} AND json_extract(metadata, ?) = ?)")
                    params += [path, path, item]
                else:
                    raise ValueError(f"metadata value {item!r} for {key!r} is not a string, number, boolean or null")
            clauses.append(f"({' OR '.join(alternatives)})" if alternatives else "0")
        where = " AND ".join(clauses) or "1"
        return [row[0] for row in self._reader().execute(f"SELECT id FROM documents WHERE {where} ORDER BY id", params)]

    def count_chunks(self) -> int:
        return self._reader().execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def count_vectors(self) -> int:
        """Live vectors in the FAISS index (equals `count_chunks()` when consistent)."""
        with self._rw.reading():
            return self._vectors.live_count()

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
                with self._connections_lock:
                    for conn in self._connections:
                        conn.close()
                    self._connections.clear()
            if self._file_lock is not None:
                self._file_lock.release()
                self._file_lock = None

    def __enter__(self) -> FaissSqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _chunk(row: tuple[Any, ...]) -> Chunk:
    return Chunk(doc_id=row[1], start=row[2], end=row[3], text=row[5], page=row[4], id=row[0])


def _info(row: tuple[Any, ...]) -> DocumentInfo:
    return DocumentInfo(
        id=row[0],
        title=row[1],
        chars=row[2],
        chunks=row[3],
        content_type=row[4],
        source=row[5],
        metadata=json.loads(row[6]),
        content_hash=row[7],
        created_at=row[8],
        pages=row[9],
    )


def _bump_generation(conn: sqlite3.Connection) -> int:
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    return conn.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'").fetchone()[0]


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one, never a mix."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
