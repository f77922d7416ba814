"""Small named values kept with the index (`store.values`), e.g. the fitted confidence calibrator:
every process on the store (any replica on one PostgreSQL database) reads the same ones.

Tables: `stored_values` in the SQLite database (index.store.sqlite_db) and in PostgreSQL (migration 5).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from typing import TYPE_CHECKING

from errors import IndexError_

if TYPE_CHECKING:
    import psycopg

VALUES_SCHEMA = "CREATE TABLE IF NOT EXISTS stored_values (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class MemoryValues:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._values.get(key)

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._values[key] = value


class SqliteValues:
    """Each call on a short-lived connection of its own (`connect`), like the jobs."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect

    def get(self, key: str) -> str | None:
        with closing(self._connect()) as conn:
            try:
                row = conn.execute("SELECT value FROM stored_values WHERE key = ?", (key,)).fetchone()
            except sqlite3.OperationalError:  # an index not opened for writing since the table came
                return None
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        with closing(self._connect()) as conn:
            try:
                conn.execute("INSERT OR REPLACE INTO stored_values (key, value) VALUES (?, ?)", (key, value))
            except sqlite3.OperationalError as error:
                raise IndexError_(f"cannot store {key!r}: {error}") from error


class PostgresValues:
    def __init__(self, connection: Callable[[], AbstractContextManager[psycopg.Connection]], read_only: bool) -> None:
        self._connection = connection
        self._read_only = read_only

    def get(self, key: str) -> str | None:
        with self._connection() as conn:
            row = conn.execute("SELECT value FROM stored_values WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        if self._read_only:
            raise IndexError_("this index is open read-only")
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO stored_values (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
