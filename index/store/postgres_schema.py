"""The PostgreSQL schema: ordered migrations applied at start, and the index's recorded model.

`schema_version` holds one row per applied migration. Every start (of any replica) takes a
session advisory lock, applies the migrations the database lacks, each in its own transaction, and
records the embedding model the first time; concurrent starts wait for each other. Read-only
stores (e.g. on a read replica, where nothing can be written) only check the version.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from errors import IndexCorrupt, IndexError_

BACKEND = "postgres"
MIGRATION_LOCK = (7071, 1)  # pg_advisory_lock(int, int) key of schema changes
DOCUMENT_LOCK_SPACE = 7072  # pg_advisory_xact_lock(DOCUMENT_LOCK_SPACE, hashtext(doc_id)) serialises writes of one id
JOB_CLAIMER_SPACE = 7073  # pg_advisory_lock(JOB_CLAIMER_SPACE, claimer) held by each live job claimer


@dataclass(frozen=True)
class SchemaParams:
    """What the migrations are formatted with (used only when a table is created)."""

    dimension: int
    hnsw_m: int
    hnsw_ef_construction: int


# Ordered steps; a step is never edited once released: change the schema by appending one.
MIGRATIONS: tuple[str, ...] = (
    # 1: documents, chunks with their vectors (HNSW, inner product), keyword postings, meta.
    """
    CREATE TABLE spanqa_meta (key text PRIMARY KEY, value text NOT NULL);
    CREATE TABLE documents (
        id text PRIMARY KEY,
        title text NOT NULL,
        text text NOT NULL,
        chars integer NOT NULL,
        pages jsonb NOT NULL,
        page_count integer NOT NULL,
        metadata jsonb NOT NULL,
        source text,
        content_type text NOT NULL,
        content_hash text NOT NULL,
        created_at double precision NOT NULL
    );
    CREATE INDEX documents_by_created ON documents (created_at, id);
    CREATE TABLE chunks (
        id bigserial PRIMARY KEY,
        doc_id text NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        start_char integer NOT NULL,
        end_char integer NOT NULL,
        page integer,
        text text NOT NULL,
        token_count integer NOT NULL,
        embedding vector({dimension}) NOT NULL
    );
    CREATE INDEX chunks_by_doc ON chunks (doc_id);
    CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_ip_ops)
        WITH (m = {hnsw_m}, ef_construction = {hnsw_ef_construction});
    CREATE TABLE chunk_terms (
        term text COLLATE "C" NOT NULL,
        chunk_id bigint NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
        tf integer NOT NULL,
        doc_len integer NOT NULL,
        PRIMARY KEY (term, chunk_id)
    );
    CREATE INDEX chunk_terms_by_chunk ON chunk_terms (chunk_id);
    """,
    # 2: the chunk count and token total BM25 needs, as counters kept by every write (in one of 16
    # rows picked at random, so concurrent writers seldom wait for each other) instead of a scan.
    """
    CREATE TABLE keyword_stats (shard smallint PRIMARY KEY, chunks bigint NOT NULL, tokens bigint NOT NULL);
    INSERT INTO keyword_stats SELECT shard, 0, 0 FROM generate_series(0, 15) AS shard;
    UPDATE keyword_stats SET chunks = (SELECT count(*) FROM chunks),
        tokens = (SELECT COALESCE(sum(token_count), 0) FROM chunks) WHERE shard = 0;
    """,
    # 3: people's feedback on answers (index.store.postgres_feedback).
    """
    CREATE TABLE feedback (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        question text NOT NULL,
        answer jsonb,
        verdict text NOT NULL CHECK (verdict IN ('correct', 'wrong')),
        correction jsonb,
        created_at double precision NOT NULL
    );
    CREATE INDEX feedback_by_created ON feedback (created_at, id);
    """,
    # 4: background ingestion jobs, a queue shared by every replica (postgres_jobs); a claimed file
    # names its claimer (`claimed_by`, the key of a session advisory lock that claimer holds).
    """
    CREATE TABLE jobs (
        id text PRIMARY KEY,
        status text NOT NULL,
        metadata jsonb NOT NULL,
        error text,
        created_at double precision NOT NULL,
        started_at double precision,
        finished_at double precision
    );
    CREATE INDEX jobs_by_created ON jobs (created_at, id);
    CREATE INDEX jobs_unfinished ON jobs (created_at, id) WHERE status IN ('queued', 'running');
    CREATE TABLE job_files (
        job_id text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        idx integer NOT NULL,
        name text NOT NULL,
        path text NOT NULL,
        status text NOT NULL,
        error text,
        doc_id text,
        title text,
        chunks integer NOT NULL DEFAULT 0,
        claimed_by integer,
        claimed_at timestamptz,
        PRIMARY KEY (job_id, idx)
    );
    CREATE INDEX job_files_open ON job_files (job_id, idx) WHERE status IN ('pending', 'claimed');
    """,
    # 5: the bytes of job files waiting for their result, so that any replica can ingest them (no shared
    # data dir; `job_files.path` is no longer used), and small named values kept with the index (e.g.
    # the fitted calibrator: index.store.values).
    """
    CREATE TABLE job_file_data (
        job_id text NOT NULL,
        idx integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (job_id, idx),
        FOREIGN KEY (job_id, idx) REFERENCES job_files (job_id, idx) ON DELETE CASCADE
    );
    ALTER TABLE job_files ALTER COLUMN path SET DEFAULT '';
    CREATE TABLE stored_values (key text PRIMARY KEY, value text NOT NULL);
    """,
)
STATS_SHARDS = 16
SCHEMA_VERSION = len(MIGRATIONS)


def applied_version(conn: psycopg.Connection, schema: str = "public") -> int | None:
    """The highest migration applied in `schema` (its own `schema_version` table only, never another
    schema's found through the search path); None where spanqa has never run there."""
    exists = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'schema_version')", (schema,)
    ).fetchone()
    if not exists or not exists[0]:
        return None
    table = sql.SQL("{}.schema_version").format(sql.Identifier(schema))
    row = conn.execute(sql.SQL("SELECT COALESCE(MAX(version), 0) FROM {}").format(table)).fetchone()
    return int(row[0]) if row else 0


def migrate_schema(conn: psycopg.Connection, params: SchemaParams, model_name: str, schema: str = "public") -> int:
    """Apply what is missing in `schema` (autocommit connection whose search_path starts with `schema`);
    the number of migrations applied. pgvector is always installed in public (shared by every schema)."""
    conn.execute("SELECT pg_advisory_lock(%s, %s)", MIGRATION_LOCK)
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_version"
                " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(sql.Identifier(schema))
        )
        current = applied_version(conn, schema) or 0
        if current > SCHEMA_VERSION:
            raise IndexCorrupt(f"the database has schema version {current}, newer than this spanqa's {SCHEMA_VERSION}")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with conn.transaction():
                conn.execute(MIGRATIONS[version - 1].format(**params.__dict__))
                conn.execute(
                    sql.SQL("INSERT INTO {}.schema_version (version) VALUES (%s)").format(sql.Identifier(schema)),
                    (version,),
                )
        with conn.transaction():
            conn.cursor().executemany(
                "INSERT INTO spanqa_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                [("model_name", model_name), ("dimension", str(params.dimension)), ("backend", BACKEND)],
            )
        return SCHEMA_VERSION - current
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s, %s)", MIGRATION_LOCK)


def check_schema(conn: psycopg.Connection, schema: str = "public") -> None:
    """For read-only opens: the schema must be there and current (nothing is applied)."""
    version = applied_version(conn, schema)
    if version is None:
        raise IndexError_("no spanqa index in this database yet: ingest some documents first")
    if version != SCHEMA_VERSION:
        raise IndexCorrupt(
            f"the database has schema version {version}, this spanqa needs {SCHEMA_VERSION}; start a writable"
            " spanqa on it once (e.g. `spanqa serve`) to migrate it"
        )


def read_meta(conn: psycopg.Connection) -> dict[str, str]:
    return {key: value for key, value in conn.execute("SELECT key, value FROM spanqa_meta").fetchall()}
