"""Document and chunk reads over SQLite, shared by the SQLite-backed stores (a mixin over `_reader()`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from index.store.metadata_filter import compile_filter
from index.store.protocol import DocumentInfo
from index.store.sqlite_db import read_meta
from index.store.sqlite_rows import (
    CHUNK_COLUMNS,
    DOCUMENT_COLUMNS,
    INFO_COLUMNS,
    chunk_from_row,
    document_from_row,
    fetch_chunks,
    fetch_vectors,
    info_from_row,
)
from index.types import Chunk, Document


@dataclass(frozen=True)
class ChunkSnapshot:
    """Every stored chunk (by id) as of one write `generation`."""

    generation: int
    ids: list[int]
    doc_ids: list[str]
    texts: list[str]  # empty strings when taken without text


class SqliteReads:
    """Reads that see committed data only, each on the calling thread's connection."""

    def _reader(self) -> sqlite3.Connection:
        raise NotImplementedError

    def get_chunks(self, chunk_ids: Sequence[int]) -> list[Chunk]:
        """The chunks with these ids, in the same order; KeyError naming any id not stored."""
        found = fetch_chunks(self._reader(), list(chunk_ids))
        missing = [i for i in chunk_ids if i not in found]
        if missing:
            raise KeyError(f"no chunks with ids {missing[:10]}")
        return [found[i] for i in chunk_ids]

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        rows = self._reader().execute(
            f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE doc_id = ? ORDER BY start_char, id", (doc_id,)
        )
        return [chunk_from_row(row) for row in rows]

    def all_chunk_ids(self) -> list[int]:
        return [row[0] for row in self._reader().execute("SELECT id FROM chunks ORDER BY id")]

    def generation(self) -> int:
        """The write generation committed in SQLite; every add, replace and delete bumps it."""
        return int(read_meta(self._reader())["generation"])

    def chunk_snapshot(self, with_text: bool = True) -> ChunkSnapshot:
        """Every chunk's id, document id and text, by id, read in one transaction with their generation."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            generation = int(read_meta(conn)["generation"])
            text = "text" if with_text else "''"
            rows = conn.execute(f"SELECT id, doc_id, {text} FROM chunks ORDER BY id").fetchall()
        finally:
            conn.execute("COMMIT")
        return ChunkSnapshot(generation, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored vectors of those of these chunks that exist."""
        return fetch_vectors(self._reader(), list(chunk_ids))

    def get_document(self, doc_id: str) -> Document | None:
        row = self._reader().execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else document_from_row(row)

    def get_info(self, doc_id: str) -> DocumentInfo | None:
        row = self._reader().execute(f"SELECT {INFO_COLUMNS} FROM documents d WHERE d.id = ?", (doc_id,)).fetchone()
        return None if row is None else info_from_row(row)

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[DocumentInfo]:
        """Documents in the order they were added (oldest first)."""
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        rows = self._reader().execute(
            f"SELECT {INFO_COLUMNS} FROM documents d ORDER BY d.created_at, d.id LIMIT ? OFFSET ?", (limit, offset)
        )
        return [info_from_row(row) for row in rows]

    def count_documents(self) -> int:
        return self._reader().execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def count_chunks(self) -> int:
        return self._reader().execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def doc_ids_matching(self, metadata: Mapping[str, Any]) -> list[str]:
        """Ids of the documents whose metadata has every key of `metadata` with an equal value (JSON
        types compared: 1 matches 1.0 but neither "1" nor true); a list value matches any of its values."""
        where, params = compile_filter(metadata)
        return [row[0] for row in self._reader().execute(f"SELECT id FROM documents WHERE {where} ORDER BY id", params)]
