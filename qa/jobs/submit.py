"""Creating a job: its uploads unpacked, and the job recorded in the store with its files' bytes
(numbered, never stored under the names they came with), queued for any runner on the store."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from errors import InvalidRequest
from index.store.jobs import JobInfo, JobStore, NewJobFile
from qa.jobs.unpack import JobBudget, UnpackLimits, UploadedFile, unpack_upload
from qa.settings import Settings


def unpack_limits(settings: Settings) -> UnpackLimits:
    return UnpackLimits(max_files=settings.max_job_files, max_bytes=settings.max_job_unpacked_bytes)


def submit_job(
    jobs: JobStore, uploads: Sequence[tuple[str, bytes]], metadata: Mapping[str, Any], limits: UnpackLimits
) -> JobInfo:
    """A new queued job with the files of `uploads` (name, bytes). DocumentTooLarge past the limits,
    InvalidRequest when there is no file; nothing is kept then."""
    budget = JobBudget(limits)
    files = [file for name, data in uploads for file in unpack_upload(name, data, budget)]
    if not files:
        raise InvalidRequest("the upload holds no files")
    new_files = [NewJobFile(file.name, file.data, file.error) for file in _unique_names(files)]
    return jobs.create_job(uuid.uuid4().hex, new_files, metadata, time.time())


def _unique_names(files: list[UploadedFile]) -> list[UploadedFile]:
    """Names are a job's document sources (and so their ids): a repeated name gets ` (2)`, ` (3)` ..."""
    seen: dict[str, int] = {}
    unique = []
    for file in files:
        count = seen[file.name] = seen.get(file.name, 0) + 1
        if count > 1:
            stem, dot, suffix = file.name.rpartition(".")
            name = f"{stem} ({count}).{suffix}" if dot and "/" not in suffix else f"{file.name} ({count})"
            file = UploadedFile(name, file.data, file.error)
        unique.append(file)
    return unique
