"""The job runner (qa.jobs.runner) over the memory job store and a small fake of the pipeline's ingest
(`load` + `ingest_many`); the real pipeline, store and server are in tests/api/test_jobs.py and
tests/jobs/test_jobs_server.py."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from errors import InvalidRequest, UnreadableDocument
from index.store.memory_jobs import MemoryJobStore
from qa.jobs.ingest_files import ingest_files
from qa.jobs.runner import JobRunner
from qa.jobs.submit import submit_job
from qa.jobs.unpack import UnpackLimits
from qa.pipeline import IngestResult, NewDocument

LIMITS = UnpackLimits(max_files=100, max_bytes=1024 * 1024)


class FakeIngest:
    """What the runner uses of a Pipeline: `jobs`, `load` (a `.bad` file is unreadable) and `ingest_many`
    (documents kept by source; an empty text is refused on its own, like the pipeline does)."""

    def __init__(self) -> None:
        self.jobs = MemoryJobStore()
        self.documents: dict[str, str] = {}
        self.batches: list[int] = []
        self.after_batch: Callable[[], None] | None = None

    def load(self, data: bytes, filename: str, *, metadata: dict, source: str) -> NewDocument:
        if filename.endswith(".bad"):
            raise UnreadableDocument(f"{filename!r} is not a document")
        return NewDocument(text=data.decode(), title=filename, metadata=metadata, source=source)

    def ingest_many(self, docs, *, batch_size: int, on_error) -> list[IngestResult]:
        docs = list(docs)
        self.batches.append(len(docs))
        results = []
        for doc in docs:
            if not doc.text.strip():
                on_error(doc, InvalidRequest("the document has no text"))
                continue
            known = self.documents.get(doc.source)
            status = "unchanged" if known == doc.text else "replaced" if known is not None else "added"
            self.documents[doc.source] = doc.text
            results.append(IngestResult(doc.source, doc.title, 1, status))
        if self.after_batch:
            self.after_batch()
        return results


UPLOADS = [(f"doc-{i:02d}.txt", f"Document number {i}.".encode()) for i in range(10)]
BROKEN = [("scan.bad", b"%PDF-garbage"), ("empty.txt", b"   "), ("also.bad", b"x")]


@pytest.fixture
def fake() -> FakeIngest:
    return FakeIngest()


def run_next(fake: FakeIngest, batch_files: int = 4) -> str:
    runner = JobRunner(fake, batch_files)  # type: ignore[arg-type]
    job = fake.jobs.start_next_job(time.time())
    runner.run_job(job)
    return job.id


def test_a_job_ends_done_with_its_broken_files_failed_and_batches_across_files(fake):
    job = submit_job(fake.jobs, UPLOADS[:5] + BROKEN + UPLOADS[5:], {"team": "x"}, LIMITS)
    run_next(fake)
    done = fake.jobs.get_job(job.id)
    assert (done.status, done.total, done.processed, done.count("added"), done.count("failed")) == (
        "done",
        13,
        13,
        10,
        3,
    )
    failed = {f.name: f.error for f in fake.jobs.job_files(job.id) if f.status == "failed"}
    assert set(failed) == {"scan.bad", "empty.txt", "also.bad"} and "no text" in failed["empty.txt"]
    assert sorted(fake.documents) == sorted(name for name, _ in UPLOADS)
    # batches of 4 files; each batch's loadable files go to one ingest_many (the empty one is refused there)
    assert fake.batches == [4, 2, 4, 1]
    assert [fake.jobs.read_file(job.id, i) for i in range(13)] == [None] * 13  # the uploads are gone once ended


def test_cancelling_stops_between_batches_and_keeps_what_was_stored(fake):
    job = submit_job(fake.jobs, UPLOADS, {}, LIMITS)
    fake.after_batch = lambda: fake.jobs.finish_job(job.id, "cancelled", time.time())
    run_next(fake, batch_files=4)
    ended = fake.jobs.get_job(job.id)
    assert (ended.status, ended.processed, ended.count("pending")) == ("cancelled", 4, 6)
    stored = {f.doc_id for f in fake.jobs.job_files(job.id) if f.status == "added"}
    assert stored == set(fake.documents) and len(stored) == 4 and fake.batches == [4]


def test_a_batch_stored_but_not_recorded_is_found_unchanged_on_resume(fake):
    job = submit_job(fake.jobs, UPLOADS, {}, LIMITS)
    fake.jobs.start_next_job(time.time())
    claimed = fake.jobs.claim_files(job.id, 4)
    ingest_files(fake, job.id, claimed, {})  # stored, then the process "dies" before recording
    runner = JobRunner(fake, 4)  # type: ignore[arg-type]
    runner.start()  # the next start: claims go back to pending, the job resumes
    try:
        deadline = time.monotonic() + 30
        while fake.jobs.get_job(job.id).status == "running" and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        runner.stop()
    ended = fake.jobs.get_job(job.id)
    assert (ended.status, ended.count("unchanged"), ended.count("added"), ended.processed) == ("done", 4, 6, 10)
    assert {f.doc_id for f in fake.jobs.job_files(job.id)} == set(fake.documents)


def test_a_failing_store_ends_the_job_failed_saying_why(fake):
    job = submit_job(fake.jobs, UPLOADS, {}, LIMITS)

    def broken_store(docs, **_):
        raise OSError("database or disk is full")

    fake.ingest_many = broken_store  # type: ignore[method-assign]
    run_next(fake)
    ended = fake.jobs.get_job(job.id)
    assert (ended.status, ended.processed, ended.count("pending")) == ("failed", 0, 10)
    assert "disk is full" in ended.error
