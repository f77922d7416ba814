"""Ingestion jobs in memory (`MemoryStore.jobs`): the same contract as `sqlite_jobs`, nothing persisted."""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from index.store.jobs import UNFINISHED, FileResult, JobFile, JobInfo, JobStatus, NewJobFile


class MemoryJobStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, JobInfo] = {}  # counts left empty; computed from the files
        self._files: dict[str, list[JobFile]] = {}
        self._data: dict[tuple[str, int], bytes] = {}  # the bytes of files without a result

    def _info(self, job_id: str) -> JobInfo:
        counts = Counter(f.status for f in self._files[job_id])
        return replace(
            self._jobs[job_id],
            counts={str(status): n for status, n in counts.items()},
            metadata=copy.deepcopy(self._jobs[job_id].metadata),
        )

    def create_job(
        self, job_id: str, files: Sequence[NewJobFile], metadata: Mapping[str, Any], created_at: float
    ) -> JobInfo:
        with self._lock:
            if job_id in self._jobs:
                raise ValueError(f"a job with id {job_id!r} exists")
            self._jobs[job_id] = JobInfo(job_id, "queued", copy.deepcopy(dict(metadata)), created_at)
            self._files[job_id] = [
                JobFile(i, "failed" if f.error else "pending", error=f.error, name=f.name) for i, f in enumerate(files)
            ]
            self._data.update({(job_id, i): f.data for i, f in enumerate(files) if f.data is not None and not f.error})
            return self._info(job_id)

    def read_file(self, job_id: str, index: int) -> bytes | None:
        with self._lock:
            return self._data.get((job_id, index))

    def put_file(self, job_id: str, index: int, data: bytes) -> None:
        with self._lock:
            files = self._files.get(job_id, [])
            if index < len(files) and files[index].status in ("pending", "claimed"):
                self._data[(job_id, index)] = bytes(data)

    def start_next_job(self, now: float) -> JobInfo | None:
        with self._lock:
            waiting = [j for j in self._jobs.values() if j.status in UNFINISHED]
            if not waiting:
                return None
            job = min(waiting, key=lambda j: (j.status != "running", j.created_at, j.id))
            self._jobs[job.id] = replace(job, status="running", started_at=job.started_at or now)
            return self._info(job.id)

    def claim_files(self, job_id: str, limit: int) -> list[JobFile]:
        with self._lock:
            if job_id not in self._jobs or self._jobs[job_id].status != "running":
                return []
            files = self._files[job_id]
            claimed = [replace(f, status="claimed") for f in files if f.status == "pending"][:limit]
            for f in claimed:
                files[f.index] = f
            return claimed

    def requeue_claimed(self) -> int:
        with self._lock:
            count = 0
            for files in self._files.values():
                for f in files:
                    if f.status == "claimed":
                        files[f.index] = replace(f, status="pending")
                        count += 1
            return count

    def record_results(self, job_id: str, results: Sequence[FileResult]) -> None:
        with self._lock:
            files = self._files[job_id]
            for r in results:
                self._data.pop((job_id, r.index), None)
                files[r.index] = replace(
                    files[r.index], status=r.status, doc_id=r.doc_id, title=r.title, chunks=r.chunks, error=r.error
                )

    def finish_job(self, job_id: str, status: JobStatus, now: float, error: str | None = None) -> JobInfo | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            busy = any(f.status in ("pending", "claimed") for f in self._files[job_id])
            if job.status in UNFINISHED and not (status == "done" and busy):
                self._jobs[job_id] = replace(job, status=status, finished_at=now, error=error)
            if self._jobs[job_id].status not in UNFINISHED:
                for f in self._files[job_id]:
                    self._data.pop((job_id, f.index), None)
            return self._info(job_id)

    def get_job(self, job_id: str) -> JobInfo | None:
        with self._lock:
            return self._info(job_id) if job_id in self._jobs else None

    def job_files(self, job_id: str) -> list[JobFile]:
        with self._lock:
            return list(self._files.get(job_id, []))

    def list_jobs(self, offset: int = 0, limit: int = 50) -> list[JobInfo]:
        with self._lock:
            newest = sorted(self._jobs.values(), key=lambda j: (j.created_at, j.id), reverse=True)
            return [self._info(j.id) for j in newest[offset : offset + limit]]

    def count_jobs(self) -> int:
        with self._lock:
            return len(self._jobs)
