"""Building the FAISS cache from SQLite: the persisted file when it is current, else from the vectors."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.store.faiss_file import load_vectors
from index.store.faiss_index import IndexType, VectorIndex
from index.store.sqlite_db import bump_generation, read_meta, stamp_of
from index.store.sqlite_rows import fetch_vectors

logger = logging.getLogger(__name__)

Stamp = dict[str, object]


def load_current(
    conn: sqlite3.Connection, directory: Path, dimension: int, index_type: IndexType
) -> tuple[VectorIndex, Stamp] | None:
    """The persisted index if it reflects SQLite's current write exactly, else None."""
    conn.execute("BEGIN")
    try:
        stamp = stamp_of(read_meta(conn))
        vectors = load_vectors(directory, stamp, dimension, index_type)
        if vectors is not None and index_type == "hnsw":  # removed chunks stay in an HNSW graph
            live = np.fromiter((row[0] for row in conn.execute("SELECT id FROM chunks")), dtype=np.int64)
            vectors.tombstones = set(np.setdiff1d(vectors.all_ids(), live).tolist())
    finally:
        conn.execute("COMMIT")
    return None if vectors is None else (vectors, stamp)


def build_from_sqlite(
    conn: sqlite3.Connection, dimension: int, index_type: IndexType, reason: str
) -> tuple[VectorIndex, Stamp]:
    """A fresh index from the vectors stored in SQLite, read in one snapshot."""
    started = time.perf_counter()
    vectors = VectorIndex(dimension, index_type)
    conn.execute("BEGIN")
    try:
        stamp = stamp_of(read_meta(conn))
        cursor = conn.execute("SELECT id, vector FROM chunks ORDER BY id")
        while rows := cursor.fetchmany(8192):
            ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
            matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype="<f4")
            vectors.add(ids, matrix.reshape(len(rows), dimension))
    finally:
        conn.execute("COMMIT")
    logger.info(
        "rebuilt the %s FAISS index from SQLite: %d vectors in %.2fs (%s)",
        index_type,
        vectors.index.ntotal,
        time.perf_counter() - started,
        reason,
    )
    return vectors, stamp


def catch_up(conn: sqlite3.Connection, vectors: VectorIndex) -> tuple[Stamp, np.ndarray, np.ndarray, list[int]]:
    """What `vectors` lacks to reflect SQLite now, read in one snapshot: SQLite's stamp, the chunk ids
    missing from FAISS with their vectors, and the ids FAISS holds that SQLite no longer has. A reader
    following the writer applies just that instead of rebuilding (chunk ids are never reused)."""
    conn.execute("BEGIN")
    try:
        stamp = stamp_of(read_meta(conn))
        stored = np.fromiter((row[0] for row in conn.execute("SELECT id FROM chunks")), dtype=np.int64)
        live = np.setdiff1d(vectors.all_ids(), np.fromiter(vectors.tombstones, dtype=np.int64))
        missing = np.setdiff1d(stored, live)
        found = fetch_vectors(conn, missing.tolist())
    finally:
        conn.execute("COMMIT")
    matrix = np.stack([found[i] for i in missing.tolist()]) if len(missing) else np.zeros((0, vectors.dimension))
    return stamp, missing, matrix, np.setdiff1d(live, stored).tolist()


def embed_all(
    texts: list[str], embed: Callable[[list[str]], np.ndarray], dimension: int, batch_size: int
) -> np.ndarray:
    """`embed` over `texts` in batches, checked: a (len(texts), dimension) float32 matrix."""
    matrix = np.zeros((len(texts), dimension), dtype="<f4")
    for begin in range(0, len(texts), batch_size):
        part = texts[begin : begin + batch_size]
        batch = np.asarray(embed(part), dtype=np.float32)
        if batch.shape != (len(part), dimension) or not np.isfinite(batch).all():
            raise ValueError(
                f"embed returned shape {batch.shape} or non-finite values; expected ({len(part)}, {dimension})"
            )
        matrix[begin : begin + len(part)] = batch
    return matrix


def id_disagreement(vectors: VectorIndex, stored: np.ndarray) -> str | None:
    """How the live FAISS ids differ from the chunk ids `stored` in SQLite; None when they are equal."""
    all_ids = vectors.all_ids()
    live = np.setdiff1d(all_ids, np.fromiter(vectors.tombstones, dtype=np.int64))
    duplicates = len(all_ids) - len(np.unique(all_ids))
    missing, extra = np.setdiff1d(stored, live), np.setdiff1d(live, stored)
    if not duplicates and not len(missing) and not len(extra):
        return None
    return f"{len(missing)} chunk vectors missing from FAISS, {len(extra)} unknown to SQLite, {duplicates} duplicated"


def stamp_and_chunk_ids(conn: sqlite3.Connection) -> tuple[Stamp, np.ndarray]:
    """SQLite's stamp and its chunk ids, read in one transaction (so they agree with each other)."""
    conn.execute("BEGIN")
    try:
        stamp = stamp_of(read_meta(conn))
        stored = np.fromiter((row[0] for row in conn.execute("SELECT id FROM chunks")), dtype=np.int64)
    finally:
        conn.execute("COMMIT")
    return stamp, stored


def begin_model_switch(
    conn: sqlite3.Connection, ids: np.ndarray, matrix: np.ndarray, model_name: str, dimension: int
) -> Stamp:
    """Opens a write transaction holding every chunk's new vector (`matrix`, rows in `ids` order) and
    the new model's name and dimension; the caller commits it. Rolled back when a statement fails."""
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
        return bump_generation(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
