"""Ingestion jobs in PostgreSQL (`PostgresStore.jobs`): one queue shared by every replica on the database.

Claiming is `SELECT ... FOR UPDATE SKIP LOCKED`: concurrent claimers (any replica, any runner) each
get other files. A claim names its claimer: every `PostgresJobStore` that claims holds a session
advisory lock `(JOB_CLAIMER_SPACE, claimer)` on a connection of its own for as long as it lives.
A claimer that dies (`kill -9`, a lost machine) loses its connection and so its lock; its claims
are then *abandoned*, and any claimer takes them again, in `claim_files` (with the pending ones) and
in `requeue_claimed`. No lease to tune, no heartbeat: a live replica's claims are never taken, however
long its batch runs; a dead one's are free as soon as PostgreSQL sees its connection gone (at once
for a killed process; after TCP keepalive for a vanished machine).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from errors import IndexError_
from index.store.jobs import FileResult, JobFile, JobInfo, JobStatus, NewJobFile
from index.store.postgres_schema import JOB_CLAIMER_SPACE

_JOB_COLUMNS = (
    "j.id, j.status, j.metadata, j.created_at, j.started_at, j.finished_at, j.error,"
    " (SELECT jsonb_object_agg(status, n) FROM"
    " (SELECT status, count(*) AS n FROM job_files WHERE job_id = j.id GROUP BY status) AS c)"
)
_FILE_COLUMNS = "idx, name, status, doc_id, title, chunks, error"
_ENDED_JOB_DATA = (
    "DELETE FROM job_file_data WHERE job_id = %s"
    " AND job_id IN (SELECT id FROM jobs WHERE status NOT IN ('queued', 'running'))"
)
# A claim whose claimer holds no lock any more (`f` is the job_files row).
_ABANDONED = f"""NOT EXISTS (SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid = {JOB_CLAIMER_SPACE} AND l.objid = f.claimed_by::oid)"""


class PostgresJobStore:
    def __init__(
        self, connection: Callable[[], AbstractContextManager[psycopg.Connection]], url: str, read_only: bool
    ) -> None:
        self._connection = connection
        self._url = url
        self._read_only = read_only
        self._lock = threading.Lock()
        self._claimer_conn: psycopg.Connection | None = None
        self._claimer: int | None = None

    def _claimer_id(self) -> int:
        """This store's claimer key, its advisory lock held on a connection of its own (taken again,
        under a new key, if that connection was lost: claims under the old key are then abandoned)."""
        with self._lock:
            if self._claimer_conn is not None:
                try:
                    self._claimer_conn.execute("SELECT 1")
                    assert self._claimer is not None
                    return self._claimer
                except psycopg.Error:
                    self._claimer_conn.close()
                    self._claimer_conn = None
            conn = psycopg.connect(self._url, autocommit=True)
            while True:
                claimer = random.randint(1, 2**31 - 1)
                row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (JOB_CLAIMER_SPACE, claimer)).fetchone()
                if row and row[0]:
                    break
            self._claimer_conn, self._claimer = conn, claimer
            return claimer

    def _writing(self) -> AbstractContextManager[psycopg.Connection]:
        if self._read_only:
            raise IndexError_("this index is open read-only: it runs no jobs")
        return self._connection()

    def create_job(
        self, job_id: str, files: Sequence[NewJobFile], metadata: Mapping[str, Any], created_at: float
    ) -> JobInfo:
        with self._writing() as conn, conn.transaction():
            inserted = conn.execute(
                "INSERT INTO jobs (id, status, metadata, created_at) VALUES (%s, 'queued', %s, %s)"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                (job_id, Jsonb(dict(metadata)), created_at),
            ).fetchone()
            if inserted is None:
                raise ValueError(f"a job with id {job_id!r} exists")
            conn.cursor().executemany(
                "INSERT INTO job_files (job_id, idx, name, status, error) VALUES (%s, %s, %s, %s, %s)",
                [(job_id, i, f.name, "failed" if f.error else "pending", f.error) for i, f in enumerate(files)],
            )
            for i, f in enumerate(files):  # one at a time: the batch's bytes are never copied into one list
                if f.data is not None and not f.error:
                    conn.execute(
                        "INSERT INTO job_file_data (job_id, idx, data) VALUES (%s, %s, %s)", (job_id, i, f.data)
                    )
            info = _get(conn, job_id)
        assert info is not None
        return info

    def read_file(self, job_id: str, index: int) -> bytes | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT data FROM job_file_data WHERE job_id = %s AND idx = %s", (job_id, index), binary=True
            ).fetchone()
        return None if row is None else bytes(row[0])

    def put_file(self, job_id: str, index: int, data: bytes) -> None:
        with self._writing() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO job_file_data (job_id, idx, data) SELECT job_id, idx, %s FROM job_files"
                " WHERE job_id = %s AND idx = %s AND status IN ('pending', 'claimed')"
                " ON CONFLICT (job_id, idx) DO UPDATE SET data = excluded.data",
                (data, job_id, index),
            )

    def start_next_job(self, now: float) -> JobInfo | None:
        with self._writing() as conn, conn.transaction():
            row = conn.execute(
                "SELECT id FROM jobs WHERE status IN ('queued', 'running')"
                " ORDER BY status = 'running' DESC, created_at, id LIMIT 1 FOR UPDATE"
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET status = 'running', started_at = COALESCE(started_at, %s) WHERE id = %s", (now, row[0])
            )
            return _get(conn, row[0])

    def claim_files(self, job_id: str, limit: int) -> list[JobFile]:
        """Pending files and abandoned claims of a running job, lowest index first."""
        claimer = self._claimer_id() if not self._read_only else 0
        with self._writing() as conn, conn.transaction():
            rows = conn.execute(
                f"""WITH picked AS (
                    SELECT f.job_id, f.idx FROM job_files f
                    WHERE f.job_id = %(job)s AND (f.status = 'pending' OR (f.status = 'claimed' AND {_ABANDONED}))
                    AND EXISTS (SELECT 1 FROM jobs WHERE id = %(job)s AND status = 'running')
                    ORDER BY f.idx LIMIT %(limit)s FOR UPDATE OF f SKIP LOCKED)
                UPDATE job_files f SET status = 'claimed', claimed_by = %(me)s, claimed_at = now()
                FROM picked WHERE f.job_id = picked.job_id AND f.idx = picked.idx
                RETURNING {", ".join(f"f.{c.strip()}" for c in _FILE_COLUMNS.split(","))}""",
                {"job": job_id, "limit": int(limit), "me": claimer},
            ).fetchall()
        return sorted((_file(row) for row in rows), key=lambda f: f.index)

    def requeue_claimed(self) -> int:
        """This store's own claims and abandoned ones back to pending (never a live replica's)."""
        with self._writing() as conn, conn.transaction():
            cursor = conn.execute(
                "UPDATE job_files f SET status = 'pending', claimed_by = NULL, claimed_at = NULL"
                f" WHERE f.status = 'claimed' AND (f.claimed_by = %s OR {_ABANDONED})",
                (self._claimer if self._claimer is not None else 0,),
            )
            return cursor.rowcount

    def record_results(self, job_id: str, results: Sequence[FileResult]) -> None:
        with self._writing() as conn, conn.transaction():
            conn.cursor().executemany(
                "UPDATE job_files SET status = %s, doc_id = %s, title = %s, chunks = %s, error = %s,"
                " claimed_by = NULL WHERE job_id = %s AND idx = %s",
                [(r.status, r.doc_id, r.title, r.chunks, r.error, job_id, r.index) for r in results],
            )
            conn.execute(
                "DELETE FROM job_file_data WHERE job_id = %s AND idx = ANY(%s)", (job_id, [r.index for r in results])
            )

    def finish_job(self, job_id: str, status: JobStatus, now: float, error: str | None = None) -> JobInfo | None:
        busy = (
            " AND NOT EXISTS (SELECT 1 FROM job_files WHERE job_id = jobs.id AND status IN ('pending', 'claimed'))"
            if status == "done"
            else ""
        )
        with self._writing() as conn, conn.transaction():
            conn.execute(
                "UPDATE jobs SET status = %s, finished_at = %s, error = %s"
                f" WHERE id = %s AND status IN ('queued', 'running'){busy}",
                (status, now, error, job_id),
            )
            conn.execute(_ENDED_JOB_DATA, (job_id,))
            return _get(conn, job_id)

    def get_job(self, job_id: str) -> JobInfo | None:
        with self._connection() as conn:
            return _get(conn, job_id)

    def job_files(self, job_id: str) -> list[JobFile]:
        with self._connection() as conn:
            rows = conn.execute(f"SELECT {_FILE_COLUMNS} FROM job_files WHERE job_id = %s ORDER BY idx", (job_id,))
            return [_file(row) for row in rows.fetchall()]

    def list_jobs(self, offset: int = 0, limit: int = 50) -> list[JobInfo]:
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs j ORDER BY j.created_at DESC, j.id DESC LIMIT %s OFFSET %s",
                (limit, offset),
            ).fetchall()
        return [_info(row) for row in rows]

    def count_jobs(self) -> int:
        with self._connection() as conn:
            row = conn.execute("SELECT count(*) FROM jobs").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Drop the claimer's lock: claims not recorded by now are abandoned (claimed again by others)."""
        with self._lock:
            if self._claimer_conn is not None:
                self._claimer_conn.close()
                self._claimer_conn = None


def _get(conn: psycopg.Connection, job_id: str) -> JobInfo | None:
    row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs j WHERE j.id = %s", (job_id,)).fetchone()
    return None if row is None else _info(row)


def _info(row: tuple) -> JobInfo:
    return JobInfo(row[0], row[1], row[2], row[3], row[4], row[5], row[6], dict(row[7] or {}))


def _file(row: tuple) -> JobFile:
    return JobFile(index=row[0], name=row[1], status=row[2], doc_id=row[3], title=row[4], chunks=row[5], error=row[6])
