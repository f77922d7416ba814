"""One SQLite reader connection per thread; a thread that has ended gets its connection closed."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import filelock

from errors import IndexCorrupt, IndexLocked
from index.store.sqlite_db import DB_FILE, connect, init_schema

LOCK_FILE = "writer.lock"


def acquire_writer_lock(directory: Path) -> filelock.BaseFileLock:
    """The lock only the one writing process holds (IndexLocked when another process has it)."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(directory / LOCK_FILE, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise IndexLocked(
            f"the data directory {directory} is in use by another spanqa process "
            f"(it holds {directory / LOCK_FILE}); stop that process, or open the index read-only"
        ) from None
    return lock


def open_writer(
    directory: Path, model_name: str, dimension: int, backend: str
) -> tuple[filelock.BaseFileLock, sqlite3.Connection]:
    """The writer lock and the writing connection, the schema created or upgraded (IndexLocked when
    another process writes, IndexCorrupt when the file is not a usable database)."""
    lock = acquire_writer_lock(directory)
    db_path = directory / DB_FILE
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(db_path, read_only=False, writer=True)
        init_schema(conn, model_name, dimension, backend)
    except BaseException as error:
        if conn is not None:
            conn.close()
        lock.release()
        if isinstance(error, sqlite3.DatabaseError):
            raise IndexCorrupt(f"{db_path} is not a usable spanqa database: {error}") from error
        raise
    return lock, conn


class ThreadConnections:
    """Per-thread read connections (request threads come and go: those of ended threads are closed
    whenever a new one opens, so they never pile up)."""

    def __init__(self, db_path: Path, read_only: bool) -> None:
        self.db_path = db_path
        self.read_only = read_only
        self._local = threading.local()
        self._open: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.db_path, read_only=self.read_only)
            if not self.read_only:
                conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._lock:
                for thread, old in self._open:
                    if not thread.is_alive():
                        old.close()  # nobody else uses it
                self._open = [(t, c) for t, c in self._open if t.is_alive()]
                self._open.append((threading.current_thread(), conn))
        return conn

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)

    def close_all(self) -> None:
        with self._lock:
            for _, conn in self._open:
                conn.close()
            self._open.clear()
