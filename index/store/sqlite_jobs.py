"""Ingestion jobs in the store's SQLite database (`FaissSqliteStore.jobs`), tables `jobs` and `job_files`,
and the bytes of files waiting for their result as BLOBs in `job_file_data` (created by any writable
open of an older index: the schema script is idempotent; `job_files.path` is no longer used).

Each call opens its own short-lived connection (`connect`), so job bookkeeping never waits on, or
holds, the store's document writes longer than its own small transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from typing import Any

from errors import IndexError_
from index.store.jobs import FileResult, JobFile, JobInfo, JobStatus, NewJobFile

JOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    metadata TEXT NOT NULL,
    error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs(created_at, id);
CREATE TABLE IF NOT EXISTS job_files (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    doc_id TEXT,
    title TEXT,
    chunks INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, idx)
);
CREATE INDEX IF NOT EXISTS job_files_by_status ON job_files(status, job_id, idx);
CREATE TABLE IF NOT EXISTS job_file_data (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, idx),
    FOREIGN KEY (job_id, idx) REFERENCES job_files(job_id, idx) ON DELETE CASCADE
)
"""

_JOB_COLUMNS = "id, status, metadata, created_at, started_at, finished_at, error"
_FILE_COLUMNS = "idx, name, status, doc_id, title, chunks, error"
_ENDED_JOB_DATA = "DELETE FROM job_file_data WHERE job_id = ? AND job_id IN (SELECT id FROM jobs WHERE status NOT IN ('queued', 'running'))"


class SqliteJobStore:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` transaction: committed on success, rolled back on any error."""
        with closing(self._connect()) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise IndexError_(f"cannot write jobs: {error}") from error
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _info(self, conn: sqlite3.Connection, row: tuple) -> JobInfo:
        counts = dict(conn.execute("SELECT status, COUNT(*) FROM job_files WHERE job_id = ? GROUP BY status", row[:1]))
        return JobInfo(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5], row[6], counts)

    def _get(self, conn: sqlite3.Connection, job_id: str) -> JobInfo | None:
        row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._info(conn, row)

    def create_job(
        self, job_id: str, files: Sequence[NewJobFile], metadata: Mapping[str, Any], created_at: float
    ) -> JobInfo:
        with self._writing() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone():
                raise ValueError(f"a job with id {job_id!r} exists")
            conn.execute(
                "INSERT INTO jobs (id, status, metadata, created_at) VALUES (?, 'queued', ?, ?)",
                (job_id, json.dumps(dict(metadata)), created_at),
            )
            conn.executemany(
                "INSERT INTO job_files (job_id, idx, name, path, status, error) VALUES (?, ?, ?, '', ?, ?)",
                ((job_id, i, f.name, "failed" if f.error else "pending", f.error) for i, f in enumerate(files)),
            )
            for i, f in enumerate(files):  # one at a time: the batch's bytes are never copied into one list
                if f.data is not None and not f.error:
                    conn.execute("INSERT INTO job_file_data (job_id, idx, data) VALUES (?, ?, ?)", (job_id, i, f.data))
            info = self._get(conn, job_id)
        assert info is not None
        return info

    def read_file(self, job_id: str, index: int) -> bytes | None:
        with self._reading() as conn:
            row = conn.execute(
                "SELECT data FROM job_file_data WHERE job_id = ? AND idx = ?", (job_id, index)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def put_file(self, job_id: str, index: int, data: bytes) -> None:
        with self._writing() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO job_file_data (job_id, idx, data) SELECT job_id, idx, ? FROM job_files"
                " WHERE job_id = ? AND idx = ? AND status IN ('pending', 'claimed')",
                (data, job_id, index),
            )

    def start_next_job(self, now: float) -> JobInfo | None:
        with self._writing() as conn:
            row = conn.execute(
                "SELECT id FROM jobs WHERE status IN ('queued', 'running')"
                " ORDER BY status = 'running' DESC, created_at, id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, ?) WHERE id = ?", (now, row[0])
            )
            return self._get(conn, row[0])

    def claim_files(self, job_id: str, limit: int) -> list[JobFile]:
        with self._writing() as conn:
            rows = conn.execute(
                f"SELECT {_FILE_COLUMNS} FROM job_files WHERE job_id = ? AND status = 'pending'"
                " AND job_id IN (SELECT id FROM jobs WHERE status = 'running') ORDER BY idx LIMIT ?",
                (job_id, limit),
            ).fetchall()
            conn.executemany(
                "UPDATE job_files SET status = 'claimed' WHERE job_id = ? AND idx = ?", ((job_id, r[0]) for r in rows)
            )
        return [_file(row[:2] + ("claimed",) + row[3:]) for row in rows]

    def requeue_claimed(self) -> int:
        with self._writing() as conn:
            return conn.execute("UPDATE job_files SET status = 'pending' WHERE status = 'claimed'").rowcount

    def record_results(self, job_id: str, results: Sequence[FileResult]) -> None:
        with self._writing() as conn:
            conn.executemany(
                "UPDATE job_files SET status = ?, doc_id = ?, title = ?, chunks = ?, error = ? WHERE job_id = ? AND idx = ?",
                ((r.status, r.doc_id, r.title, r.chunks, r.error, job_id, r.index) for r in results),
            )
            conn.executemany(
                "DELETE FROM job_file_data WHERE job_id = ? AND idx = ?", ((job_id, r.index) for r in results)
            )

    def finish_job(self, job_id: str, status: JobStatus, now: float, error: str | None = None) -> JobInfo | None:
        with self._writing() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, error = ?"
                " WHERE id = ? AND status IN ('queued', 'running')"
                + (
                    " AND NOT EXISTS (SELECT 1 FROM job_files"
                    " WHERE job_id = jobs.id AND status IN ('pending', 'claimed'))"
                    if status == "done"
                    else ""
                ),
                (status, now, error, job_id),
            )
            conn.execute(_ENDED_JOB_DATA, (job_id,))
            return self._get(conn, job_id)

    def get_job(self, job_id: str) -> JobInfo | None:
        with self._reading() as conn:
            return self._get(conn, job_id)

    def job_files(self, job_id: str) -> list[JobFile]:
        with self._reading() as conn:
            rows = conn.execute(f"SELECT {_FILE_COLUMNS} FROM job_files WHERE job_id = ? ORDER BY idx", (job_id,))
            return [_file(row) for row in rows]

    def list_jobs(self, offset: int = 0, limit: int = 50) -> list[JobInfo]:
        with self._reading() as conn:
            rows = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
            return [self._info(conn, row) for row in rows]

    def count_jobs(self) -> int:
        with self._reading() as conn:
            return conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]


def _file(row: tuple) -> JobFile:
    return JobFile(index=row[0], name=row[1], status=row[2], doc_id=row[3], title=row[4], chunks=row[5], error=row[6])
