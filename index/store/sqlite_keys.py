"""API keys and the audit log in their own SQLite file, `access.sqlite3` beside the index.

A separate file, not a table of the index database: a running server holds the index's writer lock,
and `spanqa keys create|revoke` must still work beside it. SQLite's own locking (WAL, a busy timeout)
lets both processes write these few rows; each call opens and closes its connection, so a key added
or revoked by the CLI is seen by the server's next lookup.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from index.store.protocol import AuditEntry, KeyRecord

ACCESS_DB_FILE = "access.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, salt TEXT NOT NULL, digest TEXT NOT NULL,
    created_at REAL NOT NULL, revoked_at REAL, collections TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, collection TEXT NOT NULL DEFAULT ''
);
"""
_KEY_COLUMNS = "id, name, role, salt, digest, created_at, revoked_at, collections"


class SqliteKeyStore:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / ACCESS_DB_FILE
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(audit_log)")}
            if "collection" not in columns:  # an access file from before collections
                conn.execute("ALTER TABLE audit_log ADD COLUMN collection TEXT NOT NULL DEFAULT ''")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            yield conn
        finally:
            conn.close()

    def add_key(self, record: KeyRecord) -> None:
        try:
            with self._connect() as conn:
                conn.execute(f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _row_of(record))
        except sqlite3.IntegrityError:
            raise ValueError(f"a key with id {record.id!r} exists") from None

    def get_key(self, key_id: str) -> KeyRecord | None:
        with self._connect() as conn:
            row = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return _record_of(row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id").fetchall()
        return [_record_of(row) for row in rows]

    def revoke_key(self, key_id: str, at: float) -> bool:
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, key_id)
            )
        return cursor.rowcount > 0

    def count_active_keys(self) -> int:
        with self._connect() as conn:
            return conn.execute("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL").fetchone()[0]

    def remove_collection(self, collection: str) -> int:
        with self._connect() as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET collections ="
                " (SELECT json_group_array(value) FROM json_each(api_keys.collections) WHERE value != ?)"
                " WHERE EXISTS (SELECT 1 FROM json_each(api_keys.collections) WHERE value = ?)",
                (collection, collection),
            )
        return cursor.rowcount

    def add_audit(self, entry: AuditEntry) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, target, collection) VALUES (?, ?, ?, ?, ?)",
                (entry.at, entry.actor, entry.action, entry.target, entry.collection),
            )

    def list_audit(self, offset: int = 0, limit: int = 100) -> list[AuditEntry]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT at, actor, action, target, collection FROM audit_log ORDER BY seq DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [AuditEntry(*row) for row in rows]

    def close(self) -> None:
        """Nothing held open between calls."""


def _row_of(record: KeyRecord) -> tuple:
    return (
        record.id,
        record.name,
        record.role,
        record.salt,
        record.digest,
        record.created_at,
        record.revoked_at,
        json.dumps(list(record.collections)),
    )


def _record_of(row: tuple) -> KeyRecord:
    key_id, name, role, salt, digest, created_at, revoked_at, collections = row
    return KeyRecord(key_id, name, role, salt, digest, created_at, revoked_at, tuple(json.loads(collections)))
