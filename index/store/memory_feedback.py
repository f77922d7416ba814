"""Feedback of the in-memory store: a list, newest first on reads (same contract as SQLite's)."""

from __future__ import annotations

import threading
from dataclasses import replace

from index.store.protocol import Feedback


class MemoryFeedback:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[Feedback] = []

    def add(self, feedback: Feedback) -> Feedback:
        with self._lock:
            stored = replace(feedback, id=len(self._records) + 1)
            self._records.append(stored)
            return stored

    def get(self, feedback_id: int) -> Feedback | None:
        with self._lock:
            return next((f for f in self._records if f.id == feedback_id), None)

    def list_page(self, offset: int = 0, limit: int = 50) -> list[Feedback]:
        with self._lock:
            newest = sorted(self._records, key=lambda f: (f.created_at, f.id), reverse=True)
        return newest[max(offset, 0) : max(offset, 0) + max(limit, 0)]

    def count(self) -> int:
        with self._lock:
            return len(self._records)
