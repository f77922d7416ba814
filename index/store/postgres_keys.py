"""API keys and the audit log in PostgreSQL (`open_key_store(..., database_url=...)`): every replica
on the database sees a key added or revoked (by the CLI, or any replica) at its next lookup.

Its two tables are created here, not by the index's migrations: `spanqa keys create` may run before
any index exists in the database (it knows no embedding model). Small pool: a lookup per request.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import ConnectionPool

from errors import IndexError_
from index.store.postgres_schema import MIGRATION_LOCK
from index.store.protocol import AuditEntry, KeyRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id text PRIMARY KEY, name text NOT NULL, role text NOT NULL, salt text NOT NULL, digest text NOT NULL,
    created_at double precision NOT NULL, revoked_at double precision, collections text[] NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS audit_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at double precision NOT NULL, actor text NOT NULL,
    action text NOT NULL, target text NOT NULL
);
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS collection text NOT NULL DEFAULT '';
"""
_KEY_COLUMNS = "id, name, role, salt, digest, created_at, revoked_at, collections"


class PostgresKeyStore:
    def __init__(self, url: str, pool_size: int = 4) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("SELECT pg_advisory_lock(%s, %s)", MIGRATION_LOCK)
                try:
                    conn.execute(_SCHEMA)
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s, %s)", MIGRATION_LOCK)
        except psycopg.OperationalError as error:
            from index.store.postgres import redacted

            raise IndexError_(f"cannot use the PostgreSQL database at {redacted(url)}: {error}") from error
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True},
            check=ConnectionPool.check_connection,
            name="spanqa-keys",
            open=True,
        )

    def add_key(self, record: KeyRecord) -> None:
        with self._pool.connection() as conn:
            inserted = conn.execute(
                f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                (*_row_of(record),),
            ).fetchone()
        if inserted is None:
            raise ValueError(f"a key with id {record.id!r} exists")

    def get_key(self, key_id: str) -> KeyRecord | None:
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = %s", (key_id,)).fetchone()
        return _record_of(row) if row else None

    def list_keys(self) -> list[KeyRecord]:
        with self._pool.connection() as conn:
            rows = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id").fetchall()
        return [_record_of(row) for row in rows]

    def revoke_key(self, key_id: str, at: float) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL", (at, key_id)
            )
        return cursor.rowcount > 0

    def count_active_keys(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL").fetchone()
        return int(row[0]) if row else 0

    def remove_collection(self, collection: str) -> int:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE api_keys SET collections = array_remove(collections, %s) WHERE %s = ANY(collections)",
                (collection, collection),
            )
        return cursor.rowcount

    def add_audit(self, entry: AuditEntry) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO audit_log (at, actor, action, target, collection) VALUES (%s, %s, %s, %s, %s)",
                (entry.at, entry.actor, entry.action, entry.target, entry.collection),
            )

    def list_audit(self, offset: int = 0, limit: int = 100) -> list[AuditEntry]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT at, actor, action, target, collection FROM audit_log ORDER BY seq DESC LIMIT %s OFFSET %s",
                (limit, offset),
            ).fetchall()
        return [AuditEntry(*row) for row in rows]

    def close(self) -> None:
        self._pool.close()


def _row_of(record: KeyRecord) -> tuple:
    return (
        record.id,
        record.name,
        record.role,
        record.salt,
        record.digest,
        record.created_at,
        record.revoked_at,
        list(record.collections),
    )


def _record_of(row: tuple) -> KeyRecord:
    key_id, name, role, salt, digest, created_at, revoked_at, collections = row
    return KeyRecord(key_id, name, role, salt, digest, created_at, revoked_at, tuple(collections))
