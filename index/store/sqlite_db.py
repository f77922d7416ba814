"""The SQLite database: schema, connections, the `meta` table and the write stamp.

Every write is one transaction that also bumps `generation` and draws a new random `write_token`;
together they are the stamp that derived files (the FAISS index) must carry to be reused.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from pathlib import Path

from errors import IndexCorrupt
from index.store.keyword_fts import FTS_SCHEMA, index_all_chunks
from index.store.model_record import recorded_model
from index.store.sqlite_feedback import FEEDBACK_SCHEMA
from index.store.sqlite_jobs import JOBS_SCHEMA
from index.store.values import VALUES_SCHEMA

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: the keyword index (`chunks_fts`) lives in the database
DB_FILE = "spanqa.sqlite3"

SCHEMA = """
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


def connect(path: Path, *, read_only: bool, writer: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (explicit BEGIN/COMMIT). The writer's commits are durable
    (`synchronous=FULL`) before any derived file can carry their stamp."""
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False, timeout=30)
    else:
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.isolation_level = None
    conn.execute("PRAGMA foreign_keys = ON")
    if writer:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {'FULL' if writer else 'NORMAL'}")
    return conn


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def stamp_of(meta: dict[str, str]) -> dict[str, object]:
    """What a derived file must carry to reflect exactly this database state."""
    return {"generation": int(meta["generation"]), "write_token": meta.get("write_token", "")}


def init_schema(conn: sqlite3.Connection, model_name: str, dimension: int, backend: str) -> None:
    """Create what is missing; upgrade an index of schema 1 (build its keyword index from the chunks)."""
    conn.executescript(
        SCHEMA + FTS_SCHEMA + ";" + JOBS_SCHEMA + ";" + FEEDBACK_SCHEMA + ";" + VALUES_SCHEMA + ";"
    )  # idempotent; outside any transaction
    conn.execute("BEGIN IMMEDIATE")
    try:
        stored = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if stored is not None and stored[0] == "1":
            count = index_all_chunks(conn)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            logger.info("upgraded %s to schema %d: keyword index over %d chunks", conn, SCHEMA_VERSION, count)
        defaults = {
            "model_name": model_name,
            "dimension": str(dimension),
            "schema_version": str(SCHEMA_VERSION),
            "generation": "0",
            "write_token": "",
            "backend": backend,
        }
        conn.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", defaults.items())
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def check_meta(
    meta: dict[str, str], db_path: Path, model_name: str, dimension: int, check_model: bool, backend: str
) -> tuple[str, int]:
    """The model and dimension the index holds; IndexCorrupt / IndexModelMismatch when unusable."""
    if meta.get("schema_version") == "1":
        raise IndexCorrupt(
            f"{db_path} has schema version 1 and is open read-only; open it once for writing (e.g. `spanqa serve`"
            f" or `spanqa ingest`) to upgrade it to version {SCHEMA_VERSION}"
        )
    if int(meta.get("schema_version", -1)) != SCHEMA_VERSION:
        raise IndexCorrupt(
            f"{db_path} has schema version {meta.get('schema_version')}, this spanqa needs {SCHEMA_VERSION}"
        )
    if meta.get("backend", backend) != backend:
        raise IndexCorrupt(f"{db_path} belongs to the {meta['backend']!r} store backend, not {backend!r}")
    return recorded_model(meta, model_name, dimension, check_model, str(db_path.parent))


def bump_generation(conn: sqlite3.Connection) -> dict[str, object]:
    """Inside a write transaction: the next generation and a fresh write token; the new stamp."""
    conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('write_token', ?)", (secrets.token_hex(8),))
    return stamp_of(read_meta(conn))
