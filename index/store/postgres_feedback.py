"""Feedback in PostgreSQL, beside the documents: table `feedback` (schema migration 3 in
`postgres_schema`), one row per verdict, spans as jsonb with the SQLite backend's fields (and its
row helpers). Every replica sees every record; ids come from the table's identity sequence."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace

import psycopg
from psycopg.types.json import Jsonb

from errors import IndexError_
from index.store.protocol import Feedback
from index.store.sqlite_feedback import feedback_from_row, span_json

# jsonb comes back parsed; `feedback_from_row` reads JSON text, so the spans are selected as text.
_COLUMNS = "id, question, answer::text, verdict, correction::text, created_at"


def _jsonb(value: str | None) -> Jsonb | None:
    return None if value is None else Jsonb(json.loads(value))


class PostgresFeedback:
    """The `FeedbackStore` of the PostgreSQL backend, on connections of the store's pool."""

    def __init__(self, connection: Callable[[], AbstractContextManager[psycopg.Connection]], read_only: bool) -> None:
        self._connection = connection
        self._read_only = read_only

    def add(self, feedback: Feedback) -> Feedback:
        if self._read_only:
            raise IndexError_("this index is open read-only")
        with self._connection() as conn:
            row = conn.execute(
                "INSERT INTO feedback (question, answer, verdict, correction, created_at)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (
                    feedback.question,
                    _jsonb(span_json(feedback.answer)),
                    feedback.verdict,
                    _jsonb(span_json(feedback.correction)),
                    feedback.created_at,
                ),
            ).fetchone()
        assert row is not None
        return replace(feedback, id=int(row[0]))

    def get(self, feedback_id: int) -> Feedback | None:
        with self._connection() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM feedback WHERE id = %s", (feedback_id,)).fetchone()
        return None if row is None else feedback_from_row(row)

    def list_page(self, offset: int = 0, limit: int = 50) -> list[Feedback]:
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM feedback ORDER BY created_at DESC, id DESC LIMIT %s OFFSET %s",
                (max(limit, 0), max(offset, 0)),
            ).fetchall()
        return [feedback_from_row(row) for row in rows]

    def count(self) -> int:
        with self._connection() as conn:
            row = conn.execute("SELECT count(*) FROM feedback").fetchone()
        return int(row[0]) if row else 0
