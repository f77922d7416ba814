"""Response models of the jobs API (`api.routes.jobs`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from index.store.jobs import JobFile, JobInfo

JobStatusOut = Literal["queued", "running", "done", "failed", "cancelled"]


class FileError(BaseModel):
    file: str = Field(description="The file's name; an archive's entries are named `archive/entry`")
    error: str


class JobDocument(BaseModel):
    id: str
    title: str
    chunks: int
    file: str
    status: Literal["added", "replaced", "unchanged"]


class JobSummary(BaseModel):
    id: str
    status: JobStatusOut
    total: int = Field(description="Files in the job (archives count their entries)")
    processed: int = Field(description="Files with a result: added, replaced, unchanged or failed")
    added: int
    replaced: int
    unchanged: int
    failures: int = Field(description="Files that failed")
    metadata: dict[str, Any]
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None = Field(description="Why the job stopped, when it ended `failed`")

    @classmethod
    def fields_of(cls, job: JobInfo) -> dict[str, Any]:
        return {
            "id": job.id,
            "status": job.status,
            "total": job.total,
            "processed": job.processed,
            "added": job.count("added"),
            "replaced": job.count("replaced"),
            "unchanged": job.count("unchanged"),
            "failures": job.count("failed"),
            "metadata": job.metadata,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
            "error": job.error,
        }

    @classmethod
    def of(cls, job: JobInfo) -> JobSummary:
        return cls(**cls.fields_of(job))


class JobOut(JobSummary):
    failed: list[FileError] = Field(description="Each failed file and why")
    documents: list[JobDocument] = Field(description="The documents the job's files became, in file order")

    @classmethod
    def with_files(cls, job: JobInfo, files: list[JobFile]) -> JobOut:
        return cls(
            **cls.fields_of(job),
            failed=[FileError(file=f.name, error=f.error or "failed") for f in files if f.status == "failed"],
            documents=[
                JobDocument(id=f.doc_id, title=f.title or f.doc_id, chunks=f.chunks, file=f.name, status=f.status)
                for f in files
                if f.status in ("added", "replaced", "unchanged") and f.doc_id
            ],
        )


class JobList(BaseModel):
    jobs: list[JobSummary]
    total: int
    offset: int
    limit: int
