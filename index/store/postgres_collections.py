"""Collections on PostgreSQL: `default` is schema `public`, any other collection NAME its own schema
`spanqa_c_NAME` (a quoted identifier), holding the same tables as public (migrated on its first writable
open, postgres_schema). A store of a collection sets `search_path` to `"spanqa_c_NAME", public` on each
of its connections (pgvector's types and operators live in public)."""

from __future__ import annotations

import psycopg
from psycopg import sql

from errors import CollectionConflict, CollectionNotFound, IndexError_

SCHEMA_PREFIX = "spanqa_c_"
PUBLIC = "public"


def schema_of(collection: str) -> str:
    """The schema a collection's tables live in."""
    return PUBLIC if collection == "default" else f"{SCHEMA_PREFIX}{collection}"


def search_path(schema: str) -> str:
    """The `search_path` of a store's connections: its own schema first, then public (pgvector)."""
    return "public" if schema == PUBLIC else f'"{schema}", public'


def _connect(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as error:
        from index.store.postgres import redacted

        raise IndexError_(f"cannot use the PostgreSQL database at {redacted(url)}: {error}") from error


def list_schemas(url: str) -> list[str]:
    """The names of the collections other than `default`."""
    with _connect(url) as conn:
        rows = conn.execute(
            "SELECT substr(nspname, %s) FROM pg_namespace WHERE starts_with(nspname, %s)",
            (len(SCHEMA_PREFIX) + 1, SCHEMA_PREFIX),
        ).fetchall()
    return sorted(row[0] for row in rows)


def namespace_oid(conn: psycopg.Connection, schema: str) -> int | None:
    """The schema's object id (a schema dropped and created again gets a new one), None when absent."""
    row = conn.execute("SELECT oid::bigint FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return int(row[0]) if row else None


def schema_oid(url: str, collection: str) -> int | None:
    with _connect(url) as conn:
        return namespace_oid(conn, schema_of(collection))


def create_schema(url: str, collection: str) -> None:
    """An empty schema for the collection (its tables come with its first writable open)."""
    with _connect(url) as conn:
        try:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema_of(collection))))
        except psycopg.errors.DuplicateSchema:
            raise CollectionConflict(f"collection {collection!r} exists") from None


def drop_schema(url: str, collection: str) -> None:
    """Drop the collection's schema with all its tables (CollectionNotFound when there is none)."""
    with _connect(url) as conn:
        try:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema_of(collection))))
        except psycopg.errors.InvalidSchemaName:
            raise CollectionNotFound(f"no collection {collection!r}") from None


def schema_counts(url: str, collection: str) -> tuple[int, int]:
    """Documents and chunks of the collection (0, 0 before its tables exist)."""
    schema = schema_of(collection)
    with _connect(url) as conn:
        if namespace_oid(conn, schema) is None:
            raise CollectionNotFound(f"no collection {collection!r}")
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename IN ('documents', 'chunks')", (schema,)
        ).fetchone()
        if not tables or tables[0] < 2:
            return 0, 0
        name = sql.Identifier(schema)
        row = conn.execute(
            sql.SQL("SELECT (SELECT count(*) FROM {}.documents), (SELECT count(*) FROM {}.chunks)").format(name, name)
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
