"""Keyword search computed by PostgreSQL: BM25 over an inverted index table (`chunk_terms`).

Each chunk's keyword tokens (`keyword_tokens`: the same stemmed, stop-word-free tokens the SQLite
backend indexes) are written as postings `(term, chunk_id, tf, doc_len)` in the transaction that
writes the chunk, so the index is never out of step with the chunks, on any replica. A query's
tokens are OR-ed: a chunk sharing any of them is a candidate, scored with BM25 (k1 = 1.2, b = 0.75,
FTS5's IDF, floored at 1e-6) in one SQL statement: document frequencies from the postings' primary
key, the chunk count and average length from the counters in `keyword_stats` (kept by every write). The work is proportional to the postings of
the query's terms, as in an inverted index; Postgres's `ts_rank` has no IDF, which BM25 needs to
let a rare part number outweigh common words.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from index.store.keyword_tokens import tokenize
from index.store.postgres_schema import STATS_SHARDS
from index.types import Chunk

K1, B = 1.2, 0.75

_SCORES = f"""
WITH q AS (SELECT term, count(*) AS qtf FROM unnest(%(terms)s::text[]) AS term GROUP BY term),
corpus AS (
    SELECT sum(chunks)::float8 AS n, GREATEST(sum(tokens)::float8 / NULLIF(sum(chunks), 0), 1e-9) AS avgdl
    FROM keyword_stats
),
weights AS (
    SELECT q.term, q.qtf * GREATEST(ln((corpus.n - d.df + 0.5) / (d.df + 0.5)), 1e-6) AS weight
    FROM q CROSS JOIN corpus CROSS JOIN LATERAL (SELECT count(*) AS df FROM chunk_terms t WHERE t.term = q.term) d
)
SELECT t.chunk_id, sum(w.weight * t.tf * {K1 + 1} / (t.tf + {K1} * ({1 - B} + {B} * t.doc_len / corpus.avgdl))) AS score
FROM chunk_terms t JOIN weights w ON w.term = t.term CROSS JOIN corpus
WHERE {{where}}
GROUP BY t.chunk_id
"""


def postings_of(chunks: list[Chunk]) -> tuple[list[tuple[str, int, int, int]], list[int]]:
    """The postings `(term, chunk_id, tf, doc_len)` of these stored chunks, and their token counts."""
    token_lists = tokenize([chunk.text for chunk in chunks])
    rows: list[tuple[str, int, int, int]] = []
    for chunk, tokens in zip(chunks, token_lists):
        assert chunk.id is not None
        rows.extend((term, chunk.id, tf, len(tokens)) for term, tf in Counter(tokens).items())
    return rows, [len(tokens) for tokens in token_lists]


def count_in_stats(conn: psycopg.Connection, chunks: int, tokens: int) -> None:
    """Inside a write transaction: add to the corpus counters (in a random one of their rows)."""
    if chunks or tokens:
        conn.execute(
            "UPDATE keyword_stats SET chunks = chunks + %s, tokens = tokens + %s WHERE shard = %s",
            (chunks, tokens, random.randrange(STATS_SHARDS)),
        )


def write_postings(cur: psycopg.Cursor[Any], rows: list[tuple[str, int, int, int]]) -> None:
    """Inside a write transaction (after the chunks' rows): their postings."""
    if rows:
        with cur.copy("COPY chunk_terms (term, chunk_id, tf, doc_len) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


class PostgresKeywordSearch:
    """`KeywordSearch` over `chunk_terms`, on connections from `connection()` (a pool's)."""

    def __init__(self, connection: Callable[[], AbstractContextManager[psycopg.Connection]]) -> None:
        self._connection = connection

    def search(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """The `k` best (chunk id, BM25 score) pairs, best first, optionally only from `doc_ids`;
        only chunks sharing at least one query term."""
        terms = tokenize([query])[0]
        if k <= 0 or not terms or (doc_ids is not None and not doc_ids):
            return []
        where = "true" if doc_ids is None else "t.chunk_id IN (SELECT id FROM chunks WHERE doc_id = ANY(%(doc_ids)s))"
        sql = _SCORES.format(where=where) + " ORDER BY score DESC, t.chunk_id LIMIT %(k)s"
        params = {"terms": terms, "doc_ids": list(set(doc_ids or ())), "k": k}
        with self._connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [(int(chunk_id), float(score)) for chunk_id, score in rows if score > 0]

    def scores_of(self, query: str, chunk_ids: Collection[int]) -> dict[int, float]:
        """BM25 scores of these chunks for `query` (0.0 for a stored chunk sharing no term with it)."""
        if not chunk_ids:
            return {}
        wanted = [int(i) for i in chunk_ids]
        terms = tokenize([query])[0]
        with self._connection() as conn:
            stored = conn.execute("SELECT id FROM chunks WHERE id = ANY(%s)", (wanted,)).fetchall()
            scores = {int(row[0]): 0.0 for row in stored}
            if terms and scores:
                sql = _SCORES.format(where="t.chunk_id = ANY(%(ids)s)")
                rows = conn.execute(sql, {"terms": terms, "ids": list(scores)}).fetchall()
                scores.update((int(chunk_id), max(float(score), 0.0)) for chunk_id, score in rows)
        return scores

    def sync(self) -> None:
        """Nothing to do: the postings are written with the chunks."""
