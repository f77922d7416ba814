"""Creating a job: its uploads unpacked, written under `DATA_DIR/jobs/<id>/` (numbered, never under
the names they came with), and the job recorded in the store, queued for the runner."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from errors import InvalidRequest
from index.store.collections import collection_dir
from index.store.jobs import JobInfo, JobStore, NewJobFile
from qa.jobs.unpack import JobBudget, UnpackLimits, UploadedFile, unpack_upload
from qa.settings import Settings

JOBS_FOLDER = "jobs"


def jobs_dir(settings: Settings) -> Path:
    """The job folders of the settings' collection (each collection's runner tidies only its own)."""
    return collection_dir(Path(settings.data_dir), settings.collection) / JOBS_FOLDER


def unpack_limits(settings: Settings) -> UnpackLimits:
    return UnpackLimits(max_files=settings.max_job_files, max_bytes=settings.max_job_unpacked_bytes)


def submit_job(
    jobs: JobStore,
    directory: Path,
    uploads: Sequence[tuple[str, bytes]],
    metadata: Mapping[str, Any],
    limits: UnpackLimits,
) -> JobInfo:
    """A new queued job with the files of `uploads` (name, bytes). DocumentTooLarge past the limits,
    InvalidRequest when there is no file; nothing is kept then."""
    budget = JobBudget(limits)
    files = [file for name, data in uploads for file in unpack_upload(name, data, budget)]
    if not files:
        raise InvalidRequest("the upload holds no files")
    job_id = uuid.uuid4().hex
    folder = directory / job_id
    folder.mkdir(parents=True)
    try:
        new_files = [_write(folder, index, file) for index, file in enumerate(_unique_names(files))]
        _sync(folder)
        return jobs.create_job(job_id, new_files, metadata, time.time())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _write(folder: Path, index: int, file: UploadedFile) -> NewJobFile:
    if file.data is None:
        return NewJobFile(file.name, "", file.error)
    path = f"{index:06d}"
    with open(folder / path, "wb") as out:
        out.write(file.data)
        os.fsync(out.fileno())  # the job row that names it is committed durably right after
    return NewJobFile(file.name, path)


def _sync(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
