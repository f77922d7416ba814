"""One background job runner (qa.jobs.runner) per open collection, started when the collection opens
and stopped when it closes (or the server stops). `runners[name]` is a collection's runner."""

from __future__ import annotations

import threading

from qa.collections import DEFAULT_COLLECTION
from qa.jobs.legacy_folders import import_job_folders
from qa.jobs.runner import JobRunner
from qa.pipeline import Pipeline


class JobRunners:
    def __init__(self) -> None:
        self.runners: dict[str, JobRunner] = {}
        self._lock = threading.Lock()

    def start(self, pipeline: Pipeline) -> JobRunner:
        if pipeline.collection == DEFAULT_COLLECTION:  # job folders of a version before collections, once
            import_job_folders(pipeline.jobs, pipeline.settings.data_dir)
        runner = JobRunner(pipeline, pipeline.settings.job_batch_files)
        with self._lock:
            self.runners[pipeline.collection] = runner
        runner.start()
        return runner

    def stop(self, pipeline: Pipeline) -> None:
        with self._lock:
            runner = self.runners.pop(pipeline.collection, None)
        if runner is not None:
            runner.stop()

    def get(self, collection: str) -> JobRunner | None:
        return self.runners.get(collection)

    def stop_all(self) -> None:
        with self._lock:
            runners, self.runners = list(self.runners.values()), {}
        for runner in runners:
            runner.stop()
