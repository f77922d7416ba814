"""The job queue on PostgreSQL shared by several stores ("replicas") on one database (a real server).

Claims are disjoint under concurrency; a live replica's claims are never taken by another; a replica
killed with `kill -9` mid-batch leaves its claimed files to be claimed again.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections import Counter

from index.store import StoreConfig, open_store
from index.store.jobs import FileResult, NewJobFile
from tests.index.store_contract import DIM

FILES = [NewJobFile(f"doc-{i}.txt", f"Document {i}.".encode()) for i in range(60)]


def _open(tmp_path, url):
    return open_store(StoreConfig(tmp_path, DIM, "test", database_url=url, pool_size=4))


def test_two_replicas_claiming_at_once_process_every_file_exactly_once(tmp_path, postgres_url):
    replicas = [_open(tmp_path, postgres_url) for _ in range(2)]
    try:
        replicas[0].jobs.create_job("job", FILES, {}, 1.0)
        processed: list[list[int]] = [[], []]

        def run(n: int) -> None:
            jobs = replicas[n].jobs
            while (job := jobs.start_next_job(2.0)) is not None:
                files = jobs.claim_files(job.id, 3)
                if not files:
                    jobs.finish_job(job.id, "done", 3.0)
                    continue
                processed[n].extend(f.index for f in files)
                threading.Event().wait(0.01)  # the batch's work, so that both replicas take part
                jobs.record_results(job.id, [FileResult(f.index, "added", doc_id=f.name) for f in files])

        threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        counts = Counter(processed[0] + processed[1])
        assert sorted(counts) == list(range(len(FILES))) and set(counts.values()) == {1}
        assert processed[0] and processed[1]  # both replicas took part
        job = replicas[1].jobs.get_job("job")
        assert (job.status, job.count("added")) == ("done", len(FILES))
    finally:
        for store in replicas:
            store.close()


def test_a_live_replicas_claims_are_never_taken_and_a_closed_ones_are(tmp_path, postgres_url):
    first, second = _open(tmp_path, postgres_url), _open(tmp_path, postgres_url)
    try:
        first.jobs.create_job("job", FILES[:5], {}, 1.0)
        first.jobs.start_next_job(2.0)
        held = first.jobs.claim_files("job", 2)
        assert second.jobs.requeue_claimed() == 0  # a starting replica leaves the live one's claims alone
        assert [f.index for f in second.jobs.claim_files("job", 10)] == [2, 3, 4]
        assert second.jobs.finish_job("job", "done", 3.0).status == "running"
        first.close()  # its claims are abandoned
        assert [f.index for f in second.jobs.claim_files("job", 10)] == [f.index for f in held]
    finally:
        first.close()
        second.close()


_CLAIM_AND_HANG = """
import sys, time
from pathlib import Path
from index.store import StoreConfig, open_store
store = open_store(StoreConfig(Path(sys.argv[2]), int(sys.argv[3]), "test", database_url=sys.argv[1]))
store.jobs.start_next_job(2.0)
print(",".join(str(f.index) for f in store.jobs.claim_files("job", 3)), flush=True)
time.sleep(600)
"""


def test_a_killed_replicas_claims_are_claimed_again(tmp_path, postgres_url):
    survivor = _open(tmp_path, postgres_url)
    try:
        survivor.jobs.create_job("job", FILES[:5], {}, 1.0)
        victim = subprocess.Popen(
            [sys.executable, "-c", _CLAIM_AND_HANG, postgres_url, str(tmp_path), str(DIM)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            claimed = [int(i) for i in victim.stdout.readline().strip().split(",")]
            assert claimed == [0, 1, 2]
            assert [f.index for f in survivor.jobs.claim_files("job", 10)] == [3, 4]
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.wait(30)
        for _ in range(100):  # PostgreSQL ends the killed process's session (and its lock) at once
            again = survivor.jobs.claim_files("job", 10)
            if again:
                break
            threading.Event().wait(0.05)
        assert [f.index for f in again] == claimed
        assert [survivor.jobs.read_file("job", i) for i in claimed] == [FILES[i].data for i in claimed]  # still there
    finally:
        survivor.close()
