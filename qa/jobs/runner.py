"""The job runner: one background thread of the server that ingests the store's unfinished jobs,
oldest first, a batch of files at a time, recording each file's result after its batch is stored.

- Cancelling (`status` set to cancelled by the API) is seen between batches; stored documents stay.
- A batch is stored in one transaction, so no document is ever half-stored. If the process dies between
  storing a batch and recording it, those files were claimed without a result: at the next start they
  go back to pending and are ingested again, and their content hash finds them `unchanged`.
- A failure of the store itself (not of a file) ends the job `failed` with the reason; files whose
  results were recorded are what it stored.
- The uploaded files' bytes live in the store (`JobStore.read_file`): each file's are dropped when its
  result is recorded, the rest when the job ends.
- Several processes on one PostgreSQL database each run a runner over one shared queue: claims are
  disjoint, a job ends `done` when its last file is recorded by whichever runner, a runner starting
  or failing requeues only its own claims and those of dead runners (index/store/postgres_jobs.py).
  They share nothing but the database (no data directory in common).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from index.store.jobs import UNFINISHED, JobInfo, JobStore
from qa.jobs.ingest_files import ingest_files

if TYPE_CHECKING:
    from qa.pipeline import Pipeline

logger = logging.getLogger("spanqa.jobs")


class JobRunner:
    def __init__(self, pipeline: Pipeline, batch_files: int, idle_s: float = 1.0) -> None:
        self.pipeline = pipeline
        self.batch_files = batch_files
        self.idle_s = idle_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current_job: str | None = None  # the job being worked on, if any

    @property
    def jobs(self) -> JobStore:
        return self.pipeline.jobs

    def start(self) -> None:
        """Claims left by a process that stopped (not a live replica's) go back to pending; then the thread starts (not on a
        store that cannot be written: a read-only server runs no jobs)."""
        try:
            requeued = self.jobs.requeue_claimed()
        except Exception as error:  # noqa: BLE001 - a read-only index: serve without running jobs
            logger.warning("background ingestion jobs are not run: %s", error)
            return
        if requeued:
            logger.info("resuming jobs: %d files claimed before a stop are pending again", requeued)
        self._thread = threading.Thread(target=self._loop, name="spanqa-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was submitted: look now instead of at the next idle tick."""
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the batch in progress (it is recorded) and stop; the job resumes at the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.jobs.start_next_job(time.time())
                if job is None:
                    self._wake.wait(self.idle_s)
                    self._wake.clear()
                    continue
                self.run_job(job)
            except Exception:  # noqa: BLE001 - the thread must outlive one bad moment (a locked database ...)
                logger.exception("the job runner hit an error; retrying shortly")
                self._stop.wait(self.idle_s)

    def run_job(self, job: JobInfo) -> None:
        self.current_job = job.id
        try:
            self._work_on(job)
        finally:
            self.current_job = None

    def _work_on(self, job: JobInfo) -> None:
        while not self._stop.is_set():
            current = self.jobs.get_job(job.id)
            if current is None or current.status != "running":
                break  # cancelled
            files = self.jobs.claim_files(job.id, self.batch_files)
            if not files:
                ended = self.jobs.finish_job(job.id, "done", time.time())
                if ended is not None and ended.status in UNFINISHED:  # another replica holds its last files
                    self._stop.wait(self.idle_s)
                break
            try:
                results = ingest_files(self.pipeline, job.id, files, job.metadata)
            except Exception as error:  # noqa: BLE001 - the store failed: nothing of this batch was stored
                logger.exception("job %s stopped", job.id)
                self.jobs.requeue_claimed()
                self.jobs.finish_job(job.id, "failed", time.time(), error=f"storing a batch failed: {error}")
                break
            self.jobs.record_results(job.id, results)
        ended = self.jobs.get_job(job.id)
        if ended is not None and ended.status not in UNFINISHED:
            logger.info("job %s %s: %d of %d files processed", job.id, ended.status, ended.processed, ended.total)
