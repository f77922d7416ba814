"""Document, chunk and vector reads over PostgreSQL (a mixin over `_connection()`, a pooled connection).

Every read sees what was committed when it started, by any process on the database.
Ids sort in byte order (`COLLATE "C"`), as in the SQLite backend, whatever the database's locale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import psycopg

from index.store.postgres_filter import compile_jsonb_filter
from index.store.postgres_rows import (
    CHUNK_COLUMNS,
    DOCUMENT_COLUMNS,
    INFO_COLUMNS,
    chunk_from_row,
    document_from_row,
    info_from_row,
)
from index.store.protocol import DocumentInfo
from index.types import Chunk, Document


class PostgresReads:
    def _connection(self) -> AbstractContextManager[psycopg.Connection]:
        raise NotImplementedError

    def get_chunks(self, chunk_ids: Sequence[int]) -> list[Chunk]:
        """The chunks with these ids, in the same order; KeyError naming any id not stored."""
        wanted = [int(i) for i in chunk_ids]
        with self._connection() as conn:
            rows = conn.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id = ANY(%s)", (wanted,)).fetchall()
        found = {row[0]: chunk_from_row(row) for row in rows}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise KeyError(f"no chunks with ids {missing[:10]}")
        return [found[i] for i in wanted]

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE doc_id = %s ORDER BY start_char, id", (doc_id,)
            ).fetchall()
        return [chunk_from_row(row) for row in rows]

    def all_chunk_ids(self) -> list[int]:
        with self._connection() as conn:
            return [row[0] for row in conn.execute("SELECT id FROM chunks ORDER BY id").fetchall()]

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors (float32) of those of these chunks that exist."""
        wanted = [int(i) for i in chunk_ids]
        with self._connection() as conn:
            rows = conn.execute("SELECT id, embedding FROM chunks WHERE id = ANY(%s)", (wanted,)).fetchall()
        return {row[0]: np.asarray(row[1].to_numpy(), dtype=np.float32) for row in rows}

    def get_document(self, doc_id: str) -> Document | None:
        with self._connection() as conn:
            row = conn.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = %s", (doc_id,)).fetchone()
        return None if row is None else document_from_row(row)

    def get_info(self, doc_id: str) -> DocumentInfo | None:
        with self._connection() as conn:
            row = conn.execute(f"SELECT {INFO_COLUMNS} FROM documents d WHERE d.id = %s", (doc_id,)).fetchone()
        return None if row is None else info_from_row(row)

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[DocumentInfo]:
        """Documents in the order they were added (oldest first)."""
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        with self._connection() as conn:
            rows = conn.execute(
                f'SELECT {INFO_COLUMNS} FROM documents d ORDER BY d.created_at, d.id COLLATE "C" LIMIT %s OFFSET %s',
                (limit, offset),
            ).fetchall()
        return [info_from_row(row) for row in rows]

    def count_documents(self) -> int:
        with self._connection() as conn:
            return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])  # type: ignore[index]

    def count_chunks(self) -> int:
        with self._connection() as conn:
            return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])  # type: ignore[index]

    def count_vectors(self) -> int:
        """Vectors stored (each chunk row holds its own: equals `count_chunks()`)."""
        with self._connection() as conn:
            return int(conn.execute("SELECT count(embedding) FROM chunks").fetchone()[0])  # type: ignore[index]

    def doc_ids_matching(self, metadata: Mapping[str, Any]) -> list[str]:
        """Ids of the documents whose metadata has every key of `metadata` with an equal value (JSON
        types compared: 1 matches 1.0 but neither "1" nor true); a list value matches any of its values."""
        where, params = compile_jsonb_filter(metadata)
        with self._connection() as conn:
            rows = conn.execute(f'SELECT id FROM documents WHERE {where} ORDER BY id COLLATE "C"', params).fetchall()
        return [row[0] for row in rows]
