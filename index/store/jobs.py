"""Background ingestion jobs as the store keeps them: a job, its files, and what became of each file.

A job is `queued` until a runner starts it (`running`), and ends `done`, `failed` (it stopped: `error`
says why) or `cancelled`. Each file is `pending`, `claimed` (a runner is ingesting it), or has its
result: `added`, `replaced`, `unchanged` or `failed` (with `error`). Files that fail before ingestion
(an unsafe archive entry) are created `failed`.

A file's bytes are kept by the store itself (`read_file`), so that any process on the store can ingest
it; they are deleted when the file's result is recorded, and a job's remaining ones when it ends.

Claiming is the one step shared by runners: `claim_files` hands each pending file to one caller only
(a SQL backend: `SELECT ... FOR UPDATE SKIP LOCKED`, then marks them claimed), and `requeue_claimed`
returns the claims of a runner that stopped without recording them (called before any runner works).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

JobStatus = Literal["queued", "running", "done", "failed", "cancelled"]
FileStatus = Literal["pending", "claimed", "added", "replaced", "unchanged", "failed"]
UNFINISHED: tuple[JobStatus, ...] = ("queued", "running")
RESULTS: tuple[FileStatus, ...] = ("added", "replaced", "unchanged", "failed")


@dataclass(frozen=True)
class NewJobFile:
    """A file of a new job: its name (shown in reports), its bytes, or an error when it is refused
    before ingestion (then it has no bytes)."""

    name: str
    data: bytes | None = None
    error: str | None = None


@dataclass(frozen=True)
class FileResult:
    """What ingesting file `index` of a job did: a document stored (or found unchanged), or an error."""

    index: int
    status: FileStatus
    doc_id: str | None = None
    title: str | None = None
    chunks: int = 0
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class JobFile(FileResult):
    """A file of a job as stored: its name and where it stands (its result once it has one)."""

    name: str


@dataclass(frozen=True)
class JobInfo:
    """A job with its counts of files per state."""

    id: str
    status: JobStatus
    metadata: dict[str, Any]
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # files per FileStatus

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def processed(self) -> int:
        return sum(self.counts.get(status, 0) for status in RESULTS)

    def count(self, status: FileStatus) -> int:
        return self.counts.get(status, 0)


class JobStore(Protocol):
    def create_job(
        self, job_id: str, files: Sequence[NewJobFile], metadata: Mapping[str, Any], created_at: float
    ) -> JobInfo:
        """A new `queued` job with `files` (indexed 0, 1, ... in this order) and their bytes, in one transaction."""
        ...

    def read_file(self, job_id: str, index: int) -> bytes | None:
        """The bytes of a file still waiting for its result; None once it has one (or the job ended)."""
        ...

    def put_file(self, job_id: str, index: int, data: bytes) -> None:
        """Store (or replace) the bytes of a file without a result (files of an older version's job folder)."""
        ...

    def start_next_job(self, now: float) -> JobInfo | None:
        """The oldest unfinished job (running ones first), marked `running` (`started_at` set once)."""
        ...

    def claim_files(self, job_id: str, limit: int) -> list[JobFile]:
        """Up to `limit` pending files of a running job, lowest index first, each to one caller only."""
        ...

    def requeue_claimed(self) -> int:
        """Claimed files without a result back to pending; how many."""
        ...

    def record_results(self, job_id: str, results: Sequence[FileResult]) -> None:
        """Store these files' results and drop their bytes (one transaction)."""
        ...

    def finish_job(self, job_id: str, status: JobStatus, now: float, error: str | None = None) -> JobInfo | None:
        """End an unfinished job as `done`/`failed`/`cancelled`; a finished job is left as it is.
        `done` only when no file is pending or claimed. Once ended, the bytes of its files are dropped.
        The job as it is afterwards; None if unknown."""
        ...

    def get_job(self, job_id: str) -> JobInfo | None: ...
    def job_files(self, job_id: str) -> list[JobFile]: ...
    def list_jobs(self, offset: int = 0, limit: int = 50) -> list[JobInfo]:
        """Newest first."""
        ...

    def count_jobs(self) -> int: ...
