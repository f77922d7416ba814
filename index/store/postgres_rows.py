"""Rows in and out of PostgreSQL: documents, chunks with their vectors, inside one write transaction."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from index.store.postgres_keyword import postings_of, write_postings
from index.store.postgres_schema import DOCUMENT_LOCK_SPACE
from index.store.protocol import DocumentInfo

# Chunk and document rows have the same columns in both backends: one reader of them serves both.
from index.store.sqlite_rows import CHUNK_COLUMNS as CHUNK_COLUMNS
from index.store.sqlite_rows import DOCUMENT_COLUMNS as DOCUMENT_COLUMNS
from index.store.sqlite_rows import chunk_from_row as chunk_from_row
from index.store.sqlite_rows import info_from_row as sqlite_info_from_row
from index.store.sqlite_rows import metadata_json
from index.store.write_checks import Prepared
from index.types import Chunk, Document, Page

INFO_COLUMNS = (
    "d.id, d.title, d.chars, (SELECT count(*) FROM chunks c WHERE c.doc_id = d.id), d.content_type, d.source,"
    " d.metadata, d.content_hash, d.created_at, d.page_count"
)


def info_from_row(row: tuple[Any, ...]) -> DocumentInfo:
    """A DocumentInfo from an `INFO_COLUMNS` row (psycopg already decodes jsonb metadata)."""
    return sqlite_info_from_row(row, decode_metadata=dict)


def document_from_row(row: tuple[Any, ...]) -> Document:
    return Document(
        id=row[0],
        title=row[1],
        text=row[2],
        pages=[Page(*page) for page in row[3]],
        metadata=row[4],
        source=row[5],
        content_type=row[6],
        content_hash=row[7],
        created_at=row[8],
    )


def check_storable(document: Document) -> None:
    """PostgreSQL text holds neither NUL characters nor lone surrogates: ValueError naming the document."""
    strings = [document.id, document.title, document.text, document.source or "", metadata_json(document)]
    for value in strings:
        if "\x00" in value or "\\u0000" in value:
            raise ValueError(f"document {document.id!r} holds a NUL character, which PostgreSQL cannot store")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"document {document.id!r} holds text that is not valid Unicode") from None


def lock_documents(conn: psycopg.Connection, doc_ids: list[str]) -> None:
    """Inside a write transaction: serialise writers of the same document ids (in one order: no deadlock)."""
    for doc_id in sorted(set(doc_ids)):
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (DOCUMENT_LOCK_SPACE, doc_id))


def delete_document(conn: psycopg.Connection, doc_id: str) -> tuple[int, int, int]:
    """Delete a document, its chunks and their postings (ON DELETE CASCADE): (1 if it existed, chunks, tokens)."""
    row = conn.execute(
        "WITH gone AS (DELETE FROM chunks WHERE doc_id = %s RETURNING token_count)"
        " SELECT count(*), COALESCE(sum(token_count), 0) FROM gone",
        (doc_id,),
    ).fetchone()
    assert row is not None
    return conn.execute("DELETE FROM documents WHERE id = %s", (doc_id,)).rowcount, int(row[0]), int(row[1])


def insert_document(conn: psycopg.Connection, item: Prepared) -> tuple[list[Chunk], int]:
    """Insert a document, its chunks with their vectors and their postings: the chunks with their
    ids, and their tokens in all."""
    document = item.document
    conn.execute(
        "INSERT INTO documents (id, title, text, chars, pages, page_count, metadata, source, content_type,"
        " content_hash, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            document.id,
            document.title,
            document.text,
            len(document.text),
            Jsonb([[p.number, p.start, p.end] for p in document.pages]),
            len(document.pages),
            Jsonb(json.loads(metadata_json(document))),
            document.source,
            document.content_type,
            document.content_hash or hashlib.sha256(document.text.encode("utf-8")).hexdigest(),
            document.created_at or time.time(),
        ),
    )
    if not item.chunks:
        return [], 0
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT nextval('chunks_id_seq') FROM generate_series(1, %s)", (len(item.chunks),)
        ).fetchall()
    ]
    stored = [replace(chunk, id=chunk_id) for chunk_id, chunk in zip(sorted(ids), item.chunks)]
    postings, token_counts = postings_of(stored)
    with conn.cursor() as cur:
        with cur.copy(
            "COPY chunks (id, doc_id, start_char, end_char, page, text, token_count, embedding)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "text", "int4", "int4", "int4", "text", "int4", "vector"])
            for chunk, count, vector in zip(stored, token_counts, item.vectors):
                copy.write_row((chunk.id, chunk.doc_id, chunk.start, chunk.end, chunk.page, chunk.text, count, vector))
        write_postings(cur, postings)
    return stored, sum(token_counts)
