"""Keyword search with SQLite FTS5: BM25 (`bm25()`) over the chunks' stemmed tokens.

The table `chunks_fts` holds, per chunk (rowid = chunk id), its tokens (`keyword_tokens`) joined by
spaces. It is written in the same transaction as the chunks, so it is never out of step with them:
not after a crash, not for a read-only process following the writer, and no search waits for a
rebuild (there is none). Queries are the question's tokens OR-ed; `bm25()` ranks (k1 = 1.2, b = 0.75).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterable

from index.store.keyword_tokens import tokenize
from index.types import Chunk

FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(tokens,"
    " tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\")"
)


def index_chunks(conn: sqlite3.Connection, chunks: Iterable[Chunk]) -> None:
    """Inside a write transaction: add these stored chunks to the keyword index."""
    chunks = list(chunks)
    token_lists = tokenize([chunk.text for chunk in chunks])
    conn.executemany(
        "INSERT INTO chunks_fts (rowid, tokens) VALUES (?, ?)",
        ((chunk.id, " ".join(tokens)) for chunk, tokens in zip(chunks, token_lists)),
    )


def unindex_chunks(conn: sqlite3.Connection, chunk_ids: Collection[int]) -> None:
    """Inside a write transaction: remove these chunks from the keyword index."""
    if chunk_ids:
        conn.execute(
            "DELETE FROM chunks_fts WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(list(chunk_ids)),)
        )


def index_all_chunks(conn: sqlite3.Connection) -> int:
    """Inside a write transaction: (re)build the keyword index from every stored chunk."""
    conn.execute("DELETE FROM chunks_fts")
    cursor = conn.execute("SELECT id, doc_id, start_char, end_char, text FROM chunks ORDER BY id")
    count = 0
    while rows := cursor.fetchmany(4096):
        index_chunks(conn, (Chunk(doc_id=r[1], start=r[2], end=r[3], text=r[4], id=r[0]) for r in rows))
        count += len(rows)
    return count


def match_expression(query: str) -> str | None:
    """The FTS5 query for `query`: its tokens OR-ed, each quoted (a repeated token counts twice, as
    it did with bm25s); None without any."""
    tokens = tokenize([query])[0]
    return " OR ".join(f'"{token}"' for token in tokens) or None


class FtsKeywordSearch:
    """`KeywordSearch` over the `chunks_fts` table, read on the connection `connection()` gives."""

    def __init__(self, connection: Callable[[], sqlite3.Connection]) -> None:
        self._connection = connection

    def search(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """The `k` best (chunk id, BM25 score) pairs, best first, optionally only from `doc_ids`.
        Only chunks sharing at least one query term are returned."""
        expression = match_expression(query)
        if k <= 0 or expression is None or (doc_ids is not None and not doc_ids):
            return []
        sql = "SELECT rowid, -bm25(chunks_fts) AS score FROM chunks_fts WHERE chunks_fts MATCH ?"
        params: list[object] = [expression]
        if doc_ids is not None:
            sql += " AND rowid IN (SELECT id FROM chunks WHERE doc_id IN (SELECT value FROM json_each(?)))"
            params.append(json.dumps(list(set(doc_ids))))
        rows = self._connection().execute(f"{sql} ORDER BY score DESC, rowid LIMIT ?", [*params, k]).fetchall()
        return [(int(chunk_id), float(score)) for chunk_id, score in rows if score > 0]

    def scores_of(self, query: str, chunk_ids: Collection[int]) -> dict[int, float]:
        """BM25 scores of these chunks for `query` (0.0 for a stored chunk sharing no term with it)."""
        if not chunk_ids:
            return {}
        conn = self._connection()
        wanted = json.dumps([int(i) for i in chunk_ids])
        scores = {
            int(row[0]): 0.0
            for row in conn.execute("SELECT id FROM chunks WHERE id IN (SELECT value FROM json_each(?))", (wanted,))
        }
        expression = match_expression(query)
        if expression is not None:
            rows = conn.execute(
                "SELECT rowid, -bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?"
                " AND rowid IN (SELECT value FROM json_each(?))",
                (expression, wanted),
            )
            scores.update((int(chunk_id), max(float(score), 0.0)) for chunk_id, score in rows)
        return scores

    def sync(self) -> None:
        """Nothing to do: the index is written with the chunks. Kept for callers from before FTS5."""
