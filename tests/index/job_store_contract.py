"""The job part of the store contract (`store.jobs`, index/store/jobs.py) and its named values
(`store.values`, index/store/values.py), mixed into `StoreContractTests`."""

from __future__ import annotations

import pytest

from errors import IndexError_
from index.store.jobs import FileResult, NewJobFile

FILES = [NewJobFile(f"doc-{i}.txt", f"Document {i}.".encode()) for i in range(5)]


def new_job(store, job_id: str = "job-a", created_at: float = 100.0, files=FILES, **metadata):
    return store.jobs.create_job(job_id, files, metadata, created_at)


class JobStoreTests:
    def test_a_new_job_is_queued_with_its_files(self, store):
        files = [*FILES, NewJobFile("../evil.txt", error="a path outside the archive")]
        job = new_job(store, files=files, lang="en", tags=["a"])
        assert (job.id, job.status, job.total, job.processed) == ("job-a", "queued", 6, 1)
        assert job.metadata == {"lang": "en", "tags": ["a"]}
        assert (job.count("pending"), job.count("failed"), job.started_at, job.finished_at) == (5, 1, None, None)
        listed = store.jobs.job_files("job-a")
        assert [(f.index, f.name, f.status) for f in listed[:2]] == [
            (0, "doc-0.txt", "pending"),
            (1, "doc-1.txt", "pending"),
        ]
        assert [store.jobs.read_file("job-a", i) for i in (0, 4, 5)] == [b"Document 0.", b"Document 4.", None]
        assert (listed[5].status, listed[5].error) == ("failed", "a path outside the archive")
        assert store.jobs.get_job("job-a") == job
        assert store.jobs.get_job("nope") is None and store.jobs.job_files("nope") == []
        with pytest.raises(ValueError):
            new_job(store)

    def test_running_oldest_first_claims_are_disjoint_and_results_recorded(self, store):
        new_job(store, "later", created_at=200.0)
        new_job(store, "first", created_at=100.0)
        assert store.jobs.claim_files("first", 2) == []  # not started yet
        job = store.jobs.start_next_job(now=300.0)
        assert (job.id, job.status, job.started_at) == ("first", "running", 300.0)
        assert store.jobs.start_next_job(now=301.0).id == "first"  # running jobs come first, started once
        assert store.jobs.get_job("first").started_at == 300.0
        one, two = store.jobs.claim_files("first", 2), store.jobs.claim_files("first", 2)
        assert [f.index for f in one] == [0, 1] and [f.index for f in two] == [2, 3]
        assert all(f.status == "claimed" for f in one + two)
        store.jobs.record_results(
            "first",
            [
                FileResult(0, "added", doc_id="d0", title="Doc 0", chunks=3),
                FileResult(1, "failed", error="not a PDF"),
            ],
        )
        job = store.jobs.get_job("first")
        assert (job.processed, job.count("added"), job.count("failed"), job.count("claimed")) == (2, 1, 1, 2)
        recorded = store.jobs.job_files("first")
        assert (recorded[0].doc_id, recorded[0].title, recorded[0].chunks) == ("d0", "Doc 0", 3)
        assert recorded[1].error == "not a PDF"

    def test_requeue_returns_unrecorded_claims(self, store):
        new_job(store)
        store.jobs.start_next_job(now=1.0)
        claimed = store.jobs.claim_files("job-a", 3)
        store.jobs.record_results("job-a", [FileResult(0, "unchanged", doc_id="d0", title="t", chunks=1)])
        assert store.jobs.requeue_claimed() == 2
        assert [f.index for f in store.jobs.claim_files("job-a", 10)] == [1, 2, 3, 4]
        assert claimed[0].index == 0 and store.jobs.job_files("job-a")[0].status == "unchanged"

    def test_done_only_when_every_file_has_its_result(self, store):
        new_job(store)
        store.jobs.start_next_job(now=1.0)
        files = store.jobs.claim_files("job-a", 10)
        assert store.jobs.finish_job("job-a", "done", now=2.0).status == "running"
        store.jobs.record_results("job-a", [FileResult(f.index, "added", doc_id=f.name) for f in files])
        job = store.jobs.finish_job("job-a", "done", now=3.0)
        assert (job.status, job.finished_at, job.processed, job.total) == ("done", 3.0, 5, 5)
        assert store.jobs.finish_job("job-a", "cancelled", now=4.0).status == "done"  # finished stays finished
        assert store.jobs.start_next_job(now=5.0) is None
        assert store.jobs.finish_job("nope", "done", now=1.0) is None

    def test_cancel_and_fail_stop_claims(self, store):
        new_job(store, "a", created_at=1.0)
        new_job(store, "b", created_at=2.0)
        cancelled = store.jobs.finish_job("a", "cancelled", now=5.0)
        assert (cancelled.status, cancelled.finished_at, cancelled.count("pending")) == ("cancelled", 5.0, 5)
        assert store.jobs.start_next_job(now=6.0).id == "b"
        store.jobs.finish_job("b", "failed", now=7.0, error="the disk is full")
        assert store.jobs.claim_files("b", 5) == []
        assert (store.jobs.get_job("b").status, store.jobs.get_job("b").error) == ("failed", "the disk is full")

    def test_list_jobs_newest_first_paged(self, store):
        assert store.jobs.list_jobs() == [] and store.jobs.count_jobs() == 0
        for i in range(5):
            new_job(store, f"job-{i}", created_at=float(i))
        assert [j.id for j in store.jobs.list_jobs(0, 2)] == ["job-4", "job-3"]
        assert [j.id for j in store.jobs.list_jobs(4, 10)] == ["job-0"]
        assert store.jobs.count_jobs() == 5 and store.jobs.list_jobs(0, 1)[0].total == 5

    def test_a_files_bytes_stay_until_its_result_is_recorded_and_go_when_the_job_ends(self, store):
        big = bytes(range(256)) * 4096  # 1 MiB, every byte value
        new_job(store, files=[NewJobFile("big.bin", big), *FILES[1:]])
        store.jobs.start_next_job(now=1.0)
        claimed = store.jobs.claim_files("job-a", 2)
        assert store.jobs.read_file("job-a", 0) == big  # claimed, no result yet: kept for a retry after a crash
        store.jobs.requeue_claimed()
        assert store.jobs.read_file("job-a", 1) == b"Document 1."
        store.jobs.record_results("job-a", [FileResult(f.index, "added", doc_id=f.name) for f in claimed])
        assert store.jobs.read_file("job-a", 0) is None and store.jobs.read_file("job-a", 2) == b"Document 2."
        store.jobs.put_file("job-a", 0, b"late")  # a file with its result takes no bytes
        store.jobs.put_file("job-a", 3, b"replaced")
        assert store.jobs.read_file("job-a", 0) is None and store.jobs.read_file("job-a", 3) == b"replaced"
        assert store.jobs.finish_job("job-a", "done", now=2.0).status == "running"  # files wait: bytes kept
        assert store.jobs.read_file("job-a", 4) == b"Document 4."
        store.jobs.finish_job("job-a", "cancelled", now=3.0)
        assert [store.jobs.read_file("job-a", i) for i in range(5)] == [None] * 5


class StoredValuesTests:
    def test_named_values_round_trip_and_a_read_only_open_sees_them(self, store, open_read_only):
        assert store.values.get("calibrator") is None
        store.values.put("calibrator", '{"weights": [1.5]}')
        store.values.put("other", "ü 東京")
        store.values.put("calibrator", '{"weights": [2.5]}')
        assert (store.values.get("calibrator"), store.values.get("other")) == ('{"weights": [2.5]}', "ü 東京")
        if open_read_only is not None:
            reader = open_read_only()
            assert reader.values.get("calibrator") == '{"weights": [2.5]}'
            with pytest.raises(IndexError_):
                reader.values.put("calibrator", "{}")
