"""The PostgreSQL half of `spanqa index check`: what must hold between documents, chunks and postings."""

from __future__ import annotations

import psycopg

_PROBLEM_QUERIES = {
    "documents without chunks": "SELECT count(*) FROM documents d"
    " WHERE d.chars > 0 AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = d.id)",
    "chunks whose offsets do not slice their document's text to the chunk's text": "SELECT count(*) FROM chunks c"
    " JOIN documents d ON d.id = c.doc_id WHERE c.start_char < 0 OR c.end_char > d.chars"
    " OR substr(d.text, c.start_char + 1, c.end_char - c.start_char) != c.text",
    "chunks on a page their document does not have": "SELECT count(*) FROM chunks c"
    " JOIN documents d ON d.id = c.doc_id WHERE c.page IS NOT NULL AND (c.page < 1 OR c.page > d.page_count)",
    "chunks missing from the keyword index": "SELECT count(*) FROM chunks c"
    " WHERE c.token_count > 0 AND NOT EXISTS (SELECT 1 FROM chunk_terms t WHERE t.chunk_id = c.id)",
    "keyword statistics that disagree with the chunks (count, tokens)": "SELECT count(*) FROM"
    " (SELECT sum(chunks) AS n, sum(tokens) AS t FROM keyword_stats) s, (SELECT count(*) AS n,"
    " COALESCE(sum(token_count), 0) AS t FROM chunks) c WHERE s.n != c.n OR s.t != c.t",
    "chunk vectors of the wrong dimension": "SELECT count(*) FROM chunks WHERE vector_dims(embedding) != %(dimension)s",
}


def postgres_problems(conn: psycopg.Connection, dimension: int) -> list[str]:
    """Every rule above, read in one transaction."""
    problems: list[str] = []
    with conn.transaction():
        for problem, sql in _PROBLEM_QUERIES.items():
            row = conn.execute(sql, {"dimension": dimension}).fetchone()
            if row and row[0]:
                problems.append(f"{row[0]} {problem}")
    return problems
