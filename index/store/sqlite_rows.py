"""Rows in and out of SQLite: documents, chunks and their vectors."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from index.store.keyword_fts import index_chunks, unindex_chunks
from index.store.protocol import DocumentInfo
from index.types import Chunk, Document, Page

if TYPE_CHECKING:
    from index.store.write_checks import Prepared

CHUNK_COLUMNS = "id, doc_id, start_char, end_char, page, text"
INFO_COLUMNS = (
    "d.id, d.title, d.chars, (SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.id), d.content_type, d.source,"
    " d.metadata, d.content_hash, d.created_at, d.page_count"
)
DOCUMENT_COLUMNS = "id, title, text, pages, metadata, source, content_type, content_hash, created_at"
SQL_VARIABLES = 500  # ids per `IN (...)` query, well under SQLite's limit


def chunk_from_row(row: tuple[Any, ...]) -> Chunk:
    return Chunk(doc_id=row[1], start=row[2], end=row[3], text=row[5], page=row[4], id=row[0])


def info_from_row(row: tuple[Any, ...], decode_metadata: Callable[[Any], dict[str, Any]] = json.loads) -> DocumentInfo:
    """A DocumentInfo from an `INFO_COLUMNS` row; `decode_metadata` turns the stored metadata into a dict."""
    return DocumentInfo(
        id=row[0],
        title=row[1],
        chars=row[2],
        chunks=row[3],
        content_type=row[4],
        source=row[5],
        metadata=decode_metadata(row[6]),
        content_hash=row[7],
        created_at=row[8],
        pages=row[9],
    )


def document_from_row(row: tuple[Any, ...]) -> Document:
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


def metadata_json(document: Document) -> str:
    """Strict JSON (what SQLite's JSON functions read): ValueError for NaN or infinity."""
    try:
        return json.dumps(document.metadata, ensure_ascii=False, allow_nan=False)
    except ValueError:
        bad = [key for key, value in document.metadata.items() if isinstance(value, float) and not math.isfinite(value)]
        raise ValueError(
            f"document {document.id!r}: metadata {bad or ''} holds NaN or infinity, which JSON cannot store"
        ) from None


def in_batches(ids: list[Any]) -> Any:
    for begin in range(0, len(ids), SQL_VARIABLES):
        part = ids[begin : begin + SQL_VARIABLES]
        yield part, ",".join("?" * len(part))


def fetch_chunks(conn: sqlite3.Connection, chunk_ids: list[int]) -> dict[int, Chunk]:
    found: dict[int, Chunk] = {}
    for part, marks in in_batches([int(i) for i in chunk_ids]):
        for row in conn.execute(f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", part):
            found[row[0]] = chunk_from_row(row)
    return found


def ids_of_documents(conn: sqlite3.Connection, doc_ids: list[str]) -> list[int]:
    ids: list[int] = []
    for part, marks in in_batches(doc_ids):
        ids.extend(row[0] for row in conn.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", part))
    ids.sort()
    return ids


def fetch_vectors(conn: sqlite3.Connection, chunk_ids: list[int]) -> dict[int, np.ndarray]:
    found: dict[int, np.ndarray] = {}
    for part, marks in in_batches([int(i) for i in chunk_ids]):
        for chunk_id, blob in conn.execute(f"SELECT id, vector FROM chunks WHERE id IN ({marks})", part):
            found[chunk_id] = np.frombuffer(blob, dtype="<f4")
    return found


def next_chunk_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'chunks'").fetchone()[0]


def delete_document_rows(conn: sqlite3.Connection, doc_id: str, removed: set[int], added: dict[int, Any]) -> int:
    """Delete a document's rows, noting its chunk ids (for removal from derived indexes)."""
    for (chunk_id,) in conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,)):
        if added.pop(chunk_id, None) is None:  # added earlier in this same transaction?
            removed.add(chunk_id)
    return conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount


def insert_document_rows(
    conn: sqlite3.Connection, document: Document, chunks: list[Chunk], vectors: np.ndarray, next_id: int
) -> list[Chunk]:
    """Insert a document and its chunks (ids from `next_id` on); the chunks with their ids."""
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
            metadata_json(document),
            document.source,
            document.content_type,
            document.content_hash or hashlib.sha256(document.text.encode("utf-8", "surrogatepass")).hexdigest(),
            document.created_at or time.time(),
        ),
    )
    stored = [replace(chunk, id=chunk_id) for chunk_id, chunk in zip(range(next_id, next_id + len(chunks)), chunks)]
    conn.executemany(
        "INSERT INTO chunks (id, doc_id, start_char, end_char, page, text, vector) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((c.id, c.doc_id, c.start, c.end, c.page, c.text, v.tobytes()) for c, v in zip(stored, vectors)),
    )
    return stored


@dataclass
class RowChange:
    """What one write transaction changed: chunk ids removed, chunks added (with their vectors)."""

    removed: set[int] = field(default_factory=set)
    added: dict[int, np.ndarray] = field(default_factory=dict)
    stored: list[list[Chunk]] = field(default_factory=list)  # the stored chunks, per item
    deleted: int = 0  # documents deleted by id


def write_rows(conn: sqlite3.Connection, items: list[Prepared], delete_ids: Sequence[str]) -> RowChange | None:
    """Inside a write transaction: delete `delete_ids`, replace-or-insert `items`, and keep the keyword
    index in step; None when there was nothing to do."""
    change = RowChange()
    change.deleted = sum(delete_document_rows(conn, doc_id, change.removed, change.added) for doc_id in delete_ids)
    if not items and not change.deleted:
        return None
    next_id = next_chunk_id(conn)
    for item in items:
        delete_document_rows(conn, item.document.id, change.removed, change.added)
        change.stored.append(insert_document_rows(conn, item.document, item.chunks, item.vectors, next_id))
        next_id += len(item.chunks)
        change.added.update((c.id, v) for c, v in zip(change.stored[-1], item.vectors) if c.id is not None)
    unindex_chunks(conn, change.removed)
    index_chunks(conn, (c for chunks in change.stored for c in chunks if c.id in change.added))
    return change
