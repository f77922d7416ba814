"""The PostgreSQL + pgvector store (`backend="postgres"`): one database shared by any number of processes.

Documents, chunks with their vectors (`vector(dimension)`, an HNSW index with inner product) and the
keyword postings live in one database; every add, replace and delete is one transaction, so what one
process commits every other sees at once, and a process killed mid-write leaves nothing half done.
There is no writer lock: writers of the same document id wait for each other (an advisory lock per
id), others run side by side. Connections come from a `psycopg_pool.ConnectionPool`; the schema is
migrated at start (`postgres_schema`). Build it with `open_store(StoreConfig(database_url=...))`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool

from errors import CollectionNotFound, IndexError_
from index.store.faiss_sync import embed_all
from index.store.model_record import recorded_model
from index.store.postgres_collections import namespace_oid, schema_of, search_path
from index.store.postgres_feedback import PostgresFeedback
from index.store.postgres_jobs import PostgresJobStore
from index.store.postgres_keyword import PostgresKeywordSearch, count_in_stats
from index.store.postgres_reads import PostgresReads
from index.store.postgres_rows import (
    CHUNK_COLUMNS,
    check_storable,
    chunk_from_row,
    delete_document,
    insert_document,
    lock_documents,
)
from index.store.postgres_schema import BACKEND, SchemaParams, check_schema, migrate_schema, read_meta
from index.store.postgres_verify import postgres_problems
from index.store.values import PostgresValues
from index.store.write_checks import Prepared, prepare
from index.types import Chunk, Document

logger = logging.getLogger(__name__)

MAX_EF_SEARCH = 1000  # pgvector's limit; more candidates than this are searched exactly


def redacted(url: str) -> str:
    """`url` without its password (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresStore(PostgresReads):
    """The `Store` on PostgreSQL. `read_only=True` never migrates nor writes (e.g. on a read replica)."""

    backend = BACKEND
    index_type = "hnsw"  # pgvector's, over the `embedding` column (reported by `spanqa index check`)

    def __init__(
        self,
        url: str,
        *,
        dimension: int,
        model_name: str,
        read_only: bool = False,
        pool_size: int = 8,
        hnsw_m: int = 16,
        hnsw_ef_construction: int = 64,
        hnsw_ef_search: int = 200,
        check_model: bool = True,
        collection: str = "default",
    ) -> None:
        self.url = url
        self.collection = collection
        self.schema = schema_of(collection)
        self.read_only = read_only
        self.hnsw = SchemaParams(int(dimension), int(hnsw_m), int(hnsw_ef_construction))
        self.ef_search = int(hnsw_ef_search)
        self._closed = False
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                self._schema_oid = namespace_oid(conn, self.schema)
                if self._schema_oid is None:
                    raise CollectionNotFound(f"no collection {collection!r} in the PostgreSQL database")
                conn.execute("SELECT set_config('search_path', %s, false)", (search_path(self.schema),))
                if read_only:
                    check_schema(conn, self.schema)
                elif applied := migrate_schema(conn, self.hnsw, model_name, self.schema):
                    logger.info("applied %d schema migrations to %s (%s)", applied, redacted(url), self.schema)
                meta = read_meta(conn)
        except psycopg.OperationalError as error:
            raise IndexError_(f"cannot use the PostgreSQL database at {redacted(url)}: {error}") from error
        self.model_name, self.dimension = recorded_model(
            meta, model_name, int(dimension), check_model, "the PostgreSQL database"
        )
        self._pool = ConnectionPool(
            url,
            min_size=min(2, pool_size),
            max_size=pool_size,
            kwargs={"autocommit": True},
            configure=self._configure,
            check=ConnectionPool.check_connection,  # a connection lost to a restart or failover is replaced
            name="spanqa-store",
            open=True,
        )
        self.keyword = PostgresKeywordSearch(self._connection)
        self.feedback = PostgresFeedback(self._connection, read_only)
        self.jobs = PostgresJobStore(self._connection, url, read_only)
        self.values = PostgresValues(self._connection, read_only)

    def _configure(self, conn: psycopg.Connection) -> None:
        conn.execute("SELECT set_config('search_path', %s, false)", (search_path(self.schema),))
        register_vector(conn)
        conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(self.ef_search),))

    def _connection(self) -> AbstractContextManager[psycopg.Connection]:
        if self._closed:
            raise RuntimeError("the store is closed")
        return self._pool.connection()

    # ---- writes -----------------------------------------------------------------------------

    def add(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> list[Chunk]:
        """Store `document` with its chunks and their vectors, replacing any document with its id."""
        return self.add_many([(document, chunks, vectors)])[0]

    def add_many(self, items: list[tuple[Document, list[Chunk], np.ndarray]]) -> list[list[Chunk]]:
        """`add` for many documents in one transaction. All or nothing."""
        prepared = [prepare(document, chunks, vectors, self.dimension) for document, chunks, vectors in items]
        for item in prepared:
            check_storable(item.document)
        return self._write(prepared, delete_ids=()) if prepared else []

    def delete(self, doc_id: str) -> bool:
        """Remove a document with its chunks; False if there was none."""
        return bool(self._write([], delete_ids=(doc_id,)))

    def _write(self, items: list[Prepared], delete_ids: Sequence[str]) -> Any:
        """One transaction: delete `delete_ids`, replace-or-insert `items`. The stored chunks per item,
        or (with only deletions) how many documents were deleted."""
        if self.read_only:
            raise IndexError_("this index is open read-only")
        with self._connection() as conn, conn.transaction():
            lock_documents(conn, [*delete_ids, *(item.document.id for item in items)])
            removed = [delete_document(conn, doc_id) for doc_id in delete_ids]
            stored, added_tokens = [], 0
            for item in items:
                removed.append(delete_document(conn, item.document.id))
                chunks, tokens = insert_document(conn, item)
                stored.append(chunks)
                added_tokens += tokens
            chunk_change = sum(len(chunks) for chunks in stored) - sum(r[1] for r in removed)
            count_in_stats(conn, chunk_change, added_tokens - sum(r[2] for r in removed))
        return stored if items else sum(r[0] for r in removed)

    def rebuild_vectors(
        self, model_name: str, dimension: int, embed: Callable[[list[str]], np.ndarray], batch_size: int = 256
    ) -> None:
        """Re-embed every chunk with `embed` and record `model_name`/`dimension` as the index's model, in
        one transaction that holds off other writers meanwhile (readers go on with the old vectors)."""
        if self.read_only:
            raise IndexError_("this index is open read-only")
        params = SchemaParams(int(dimension), self.hnsw.hnsw_m, self.hnsw.hnsw_ef_construction)
        with self._connection() as conn, conn.transaction():
            conn.execute("LOCK TABLE documents, chunks IN SHARE ROW EXCLUSIVE MODE")
            rows = conn.execute("SELECT id, text FROM chunks ORDER BY id").fetchall()
            matrix = embed_all([row[1] for row in rows], embed, dimension, batch_size)
            conn.execute("DROP INDEX chunks_embedding")
            conn.execute("ALTER TABLE chunks ALTER COLUMN embedding DROP NOT NULL")
            conn.execute(f"ALTER TABLE chunks ALTER COLUMN embedding TYPE vector({params.dimension}) USING NULL")
            conn.execute(
                f"CREATE TEMP TABLE new_vectors (id bigint, embedding vector({params.dimension})) ON COMMIT DROP"
            )
            with conn.cursor() as cur, cur.copy("COPY new_vectors (id, embedding) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "vector"])
                for (chunk_id, _), vector in zip(rows, matrix):
                    copy.write_row((chunk_id, vector))
            conn.execute("UPDATE chunks c SET embedding = n.embedding FROM new_vectors n WHERE c.id = n.id")
            conn.execute("ALTER TABLE chunks ALTER COLUMN embedding SET NOT NULL")
            conn.execute(
                "CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_ip_ops)"
                f" WITH (m = {params.hnsw_m}, ef_construction = {params.hnsw_ef_construction})"
            )
            conn.execute("UPDATE spanqa_meta SET value = %s WHERE key = 'model_name'", (model_name,))
            conn.execute("UPDATE spanqa_meta SET value = %s WHERE key = 'dimension'", (str(params.dimension),))
        self.model_name, self.dimension, self.hnsw = model_name, params.dimension, params
        self._pool.drain()  # statements prepared on the old column type must not be reused
        logger.info("re-embedded %d chunks with %s (dimension %d)", len(rows), model_name, dimension)

    # ---- vector search ----------------------------------------------------------------------

    def search(self, vector: np.ndarray, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[Chunk, float]]:
        """The `k` chunks with the highest inner product with `vector`, best first, optionally only from
        the documents `doc_ids` (searched exactly: a few documents' chunks are few rows)."""
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dimension:
            raise ValueError(f"query vector has dimension {query.shape[0]}, the index has {self.dimension}")
        if k <= 0 or (doc_ids is not None and not doc_ids):
            return []
        select = f"SELECT {CHUNK_COLUMNS}, -(embedding <#> %(q)s) FROM chunks"
        params: dict[str, Any] = {"q": query, "k": int(k), "docs": list(set(doc_ids or ()))}
        if doc_ids is not None:
            sql = f"{select} WHERE doc_id = ANY(%(docs)s) ORDER BY embedding <#> %(q)s, id LIMIT %(k)s"
        elif k > MAX_EF_SEARCH:
            sql = f"{select} ORDER BY embedding <#> %(q)s, id LIMIT %(k)s"  # exact: HNSW stops at ef_search
        else:
            sql = f"{select} ORDER BY embedding <#> %(q)s LIMIT %(k)s"
        with self._connection() as conn:
            if doc_ids is None and self.ef_search < k <= MAX_EF_SEARCH:  # HNSW returns at most ef_search rows
                with conn.transaction():
                    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(k),))
                    rows = conn.execute(sql, params).fetchall()
            else:
                rows = conn.execute(sql, params).fetchall()
        return [(chunk_from_row(row), float(row[6])) for row in rows]

    # ---- admin ------------------------------------------------------------------------------

    def still_exists(self) -> bool:
        """Whether this store's collection is the one it opened: not dropped (nor dropped and created
        again) since, e.g. by another replica."""
        with self._connection() as conn:
            return namespace_oid(conn, self.schema) == self._schema_oid

    def check(self) -> None:
        """Vectors live in the chunks' rows: nothing can disagree. Raises if the database is unreachable."""
        with self._connection() as conn:
            conn.execute("SELECT 1 FROM spanqa_meta LIMIT 1")

    def verify(self) -> list[str]:
        """For `spanqa index check`: the problems found, [] when none."""
        with self._connection() as conn:
            return postgres_problems(conn, self.dimension)

    def flush(self) -> None:
        """Nothing to do: every write is committed when it returns."""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.jobs.close()
            self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
