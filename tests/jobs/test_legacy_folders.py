"""Job folders of an older spanqa (`DATA_DIR/jobs/<id>/<index:06d>`) moved into the store at start
(qa.jobs.legacy_folders), on the SQLite store the older version used."""

from __future__ import annotations

from index.store import StoreConfig, open_store
from index.store.jobs import FileResult, NewJobFile
from qa.jobs.legacy_folders import import_job_folders
from tests.index.store_contract import DIM


def _old_job(store, data_dir, job_id: str, files: dict[int, bytes], total: int) -> None:
    """A job as the older version left it: rows without bytes, the bytes in its folder."""
    store.jobs.create_job(job_id, [NewJobFile(f"doc-{i}.txt") for i in range(total)], {}, 1.0)
    folder = data_dir / "jobs" / job_id
    folder.mkdir(parents=True)
    for index, data in files.items():
        (folder / f"{index:06d}").write_bytes(data)


def test_waiting_files_of_unfinished_jobs_move_into_the_store_and_folders_go(tmp_path):
    data_dir = tmp_path / "data"
    store = open_store(StoreConfig(data_dir, DIM, "test"))
    try:
        _old_job(store, data_dir, "running", {0: b"zero", 1: b"one", 2: b"two"}, total=3)
        store.jobs.start_next_job(2.0)
        store.jobs.claim_files("running", 1)
        store.jobs.record_results("running", [FileResult(0, "added", doc_id="d0")])
        _old_job(store, data_dir, "ended", {0: b"gone"}, total=1)
        store.jobs.finish_job("ended", "cancelled", 3.0)
        (data_dir / "jobs" / "orphan").mkdir()  # a submit that died before recording its job
        assert import_job_folders(store.jobs, data_dir) == 2
        assert [store.jobs.read_file("running", i) for i in range(3)] == [None, b"one", b"two"]
        assert store.jobs.read_file("ended", 0) is None
        assert not (data_dir / "jobs").exists()
        assert import_job_folders(store.jobs, data_dir) == 0  # once
    finally:
        store.close()
