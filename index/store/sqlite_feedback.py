"""Feedback in the SQLite database, beside the documents: table `feedback`, one row per verdict.

Spans are stored as JSON (`doc_id`, `start`, `end`, `text`, `context`, `context_start`); a
correction is such a span, the string `"no_answer"`, or NULL. Adding feedback is its own short
transaction on the writer's connection; it does not touch the write stamp (no vectors change).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from errors import IndexError_
from index.store.protocol import NO_ANSWER, Feedback, FeedbackSpan

FEEDBACK_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question TEXT NOT NULL,
    answer TEXT,
    verdict TEXT NOT NULL CHECK (verdict IN ('correct', 'wrong')),
    correction TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_created ON feedback(created_at, id)
"""

_COLUMNS = "id, question, answer, verdict, correction, created_at"


def span_json(span: FeedbackSpan | str | None) -> str | None:
    if span is None:
        return None
    return json.dumps(span if isinstance(span, str) else asdict(span), ensure_ascii=False)


def span_from_json(raw: str | None) -> Any:
    if raw is None:
        return None
    value = json.loads(raw)
    return NO_ANSWER if value == NO_ANSWER else FeedbackSpan(**value)


def feedback_from_row(row: tuple) -> Feedback:
    return Feedback(
        id=row[0],
        question=row[1],
        answer=span_from_json(row[2]),
        verdict=row[3],
        correction=span_from_json(row[4]),
        created_at=row[5],
    )


def _missing_table(error: sqlite3.OperationalError) -> bool:
    """An index written before feedback existed, opened read-only (the writer creates the table)."""
    return "no such table: feedback" in str(error)


class SqliteFeedback:
    """The `FeedbackStore` of a SQLite-backed store: reads on the calling thread's connection,
    writes on the writer's connection under the store's write lock."""

    def __init__(
        self,
        reader: Callable[[], sqlite3.Connection],
        writer: Callable[[], sqlite3.Connection | None],
        write_lock: threading.RLock,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._write_lock = write_lock

    def add(self, feedback: Feedback) -> Feedback:
        with self._write_lock:
            conn = self._writer()
            if conn is None:
                raise IndexError_("this index is open read-only")
            cursor = conn.execute(
                f"INSERT INTO feedback ({_COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?)",
                (
                    feedback.question,
                    span_json(feedback.answer),
                    feedback.verdict,
                    span_json(feedback.correction),
                    feedback.created_at,
                ),
            )  # autocommit: one durable statement
            return replace(feedback, id=int(cursor.lastrowid or 0))

    def get(self, feedback_id: int) -> Feedback | None:
        try:
            row = self._reader().execute(f"SELECT {_COLUMNS} FROM feedback WHERE id = ?", (feedback_id,)).fetchone()
        except sqlite3.OperationalError as error:
            if _missing_table(error):
                return None
            raise
        return None if row is None else feedback_from_row(row)

    def list_page(self, offset: int = 0, limit: int = 50) -> list[Feedback]:
        try:
            rows = self._reader().execute(
                f"SELECT {_COLUMNS} FROM feedback ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                (max(limit, 0), max(offset, 0)),
            )
            return [feedback_from_row(row) for row in rows.fetchall()]
        except sqlite3.OperationalError as error:
            if _missing_table(error):
                return []
            raise

    def count(self) -> int:
        try:
            return int(self._reader().execute("SELECT COUNT(*) FROM feedback").fetchone()[0])
        except sqlite3.OperationalError as error:
            if _missing_table(error):
                return 0
            raise
