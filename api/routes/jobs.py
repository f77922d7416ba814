"""Background ingestion jobs: `POST /jobs` (202 + Location), `GET /jobs/{id}`, `GET /jobs`, `DELETE /jobs/{id}`."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import PipelineDep
from api.forms import form_metadata
from api.schemas import ErrorOut
from api.schemas_jobs import JobList, JobOut, JobSummary
from errors import InvalidRequest
from qa.jobs.submit import submit_job, unpack_limits

router = APIRouter(prefix="/jobs", tags=["jobs"])

_MAX_UPLOADS = 1000  # multipart file parts of one request (an archive counts as one)
_MAX_OFFSET = 1_000_000_000
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorOut}}
_UPLOAD_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "metadata": {"type": "string", "description": "JSON object applied to every document"},
                    },
                    "required": ["files"],
                }
            }
        },
        "required": True,
    }
}


@router.post(
    "",
    status_code=202,
    response_model=JobOut,
    responses={code: {"model": ErrorOut} for code in (413, 415, 422)},
    openapi_extra=_UPLOAD_BODY,
)
async def create_job(request: Request, response: Response, pipeline: PipelineDep) -> JobOut:
    """Queues the files of field `files` (documents, or `.zip` / `.tar.gz` / `.tgz` archives of documents)
    for ingestion in the background; follow the job at `Location`."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "POST /jobs takes multipart/form-data with one or more files in field 'files'")
    form = await request.form(max_files=_MAX_UPLOADS, max_fields=8, max_part_size=64 * 1024)
    uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    if not uploads:
        raise InvalidRequest("the multipart upload has no file in field 'files'")
    metadata = form_metadata(form.get("metadata"))
    named = [(upload.filename or "upload", await upload.read()) for upload in uploads]
    settings = pipeline.settings
    job = await run_in_threadpool(submit_job, pipeline.jobs, named, metadata, unpack_limits(settings))
    runners = getattr(request.app.state, "job_runners", None)
    runner = runners.get(pipeline.collection) if runners is not None else None
    if runner is not None:
        runner.wake()
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{job.id}"  # under /collections/NAME too
    return JobOut.with_files(job, await run_in_threadpool(pipeline.jobs.job_files, job.id))


@router.get("", response_model=JobList)
def list_jobs(
    pipeline: PipelineDep,
    offset: int = Query(default=0, ge=0, le=_MAX_OFFSET),
    limit: int = Query(default=50, ge=1, le=500),
) -> JobList:
    """Jobs, newest first, without their per-file lists."""
    jobs = pipeline.jobs
    return JobList(
        jobs=[JobSummary.of(job) for job in jobs.list_jobs(offset, limit)],
        total=jobs.count_jobs(),
        offset=offset,
        limit=limit,
    )


@router.get("/{job_id}", response_model=JobOut, responses=_NOT_FOUND)
def get_job(job_id: str, pipeline: PipelineDep) -> JobOut:
    job = pipeline.jobs.get_job(job_id)
    if job is None:
        raise HTTPException(404, f"no job with id {job_id!r}")
    return JobOut.with_files(job, pipeline.jobs.job_files(job_id))


@router.delete("/{job_id}", response_model=JobOut, responses={**_NOT_FOUND, 409: {"model": ErrorOut}})
def cancel_job(job_id: str, pipeline: PipelineDep) -> JobOut:
    """Cancels a queued or running job: the batch being stored finishes, nothing more is ingested;
    the documents already stored stay. 409 when the job has already ended."""
    jobs = pipeline.jobs
    job = jobs.get_job(job_id)
    if job is None:
        raise HTTPException(404, f"no job with id {job_id!r}")
    if job.status not in ("queued", "running"):
        raise HTTPException(409, f"job {job_id!r} has already ended ({job.status})")
    job = jobs.finish_job(job_id, "cancelled", time.time())
    assert job is not None
    return JobOut.with_files(job, jobs.job_files(job_id))
