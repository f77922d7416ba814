"""The SQLite half of `spanqa index check`: what must hold between documents and chunks."""

from __future__ import annotations

import sqlite3

_PROBLEM_QUERIES = {
    "chunks without their document": "SELECT COUNT(*) FROM chunks c"
    " WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = c.doc_id)",
    "documents without chunks": "SELECT COUNT(*) FROM documents d"
    " WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.doc_id = d.id)",
    "chunks whose offsets do not slice their document's text to the chunk's text": "SELECT COUNT(*) FROM chunks c"
    " JOIN documents d ON d.id = c.doc_id WHERE c.start_char < 0 OR c.end_char > d.chars"
    " OR substr(d.text, c.start_char + 1, c.end_char - c.start_char) != c.text",
    "chunks on a page their document does not have": "SELECT COUNT(*) FROM chunks c"
    " JOIN documents d ON d.id = c.doc_id WHERE c.page IS NOT NULL AND (c.page < 1 OR c.page > d.page_count)",
    "chunks missing from the keyword index": "SELECT COUNT(*) FROM chunks"
    " WHERE id NOT IN (SELECT rowid FROM chunks_fts)",
    "keyword index rows of no chunk": "SELECT COUNT(*) FROM chunks_fts WHERE rowid NOT IN (SELECT id FROM chunks)",
    "chunk vectors of the wrong size": "SELECT COUNT(*) FROM chunks WHERE length(vector) != :vector_bytes",
}


def sqlite_problems(conn: sqlite3.Connection, dimension: int) -> list[str]:
    """SQLite's own integrity check, then every rule above; inside one read transaction."""
    problems: list[str] = []
    conn.execute("BEGIN")
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if integrity != ["ok"]:
            problems.append(f"SQLite integrity check: {'; '.join(integrity[:5])}")
        for problem, sql in _PROBLEM_QUERIES.items():
            count = conn.execute(sql, {"vector_bytes": 4 * dimension}).fetchone()[0]
            if count:
                problems.append(f"{count} {problem}")
    finally:
        conn.execute("COMMIT")
    return problems
