"""Two real `spanqa serve` processes (uvicorn on 127.0.0.1, two ports) on one PostgreSQL database.

Uploads, questions and deletes go through both at once: no 5xx, every citation slices its document,
each document is visible through the other replica as soon as its POST returns. A job submitted to one
is processed (by either). Then one replica is killed with SIGKILL in the middle of uploads and of a
job: every upload whose POST returned is there, and the survivor finishes the job (it claims again the
files the dead one held). The replicas have data directories of their own: the job files are in the
database.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from bench.server import free_port
from tests.api.test_postgres_replicas import FACTS
from tests.fixtures.apps import cli_command, cli_env
from tests.fixtures.samples import REPO

KILLED_JOB_FILES = 150


class Replica:
    """A `spanqa serve` subprocess on the database, with a data directory of its own."""

    def __init__(self, data_dir: Path, database_url: str, log: Path) -> None:
        self.port = free_port()
        env = {
            **cli_env(data_dir),
            "SPANQA_DATABASE_URL": database_url,
            "SPANQA_DATABASE_POOL_SIZE": "4",
            "SPANQA_JOB_BATCH_FILES": "4",
        }
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                cli_command("serve", "--port", str(self.port)), cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.log = log
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=120)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 300
        while True:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if self.http.get("/health").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(60)
        self.http.close()


@pytest.fixture
def replicas(tmp_path, postgres_url):
    started = [Replica(tmp_path / f"data-{n}", postgres_url, tmp_path / f"serve-{n}.log") for n in range(2)]
    try:
        for replica in started:
            replica.wait_ready()
        yield started
    finally:
        for replica in started:
            replica.kill()


def _notes_zip(count: int, prefix: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(count):
            archive.writestr(
                f"{prefix}-{i:03d}.txt", f"Note {i}: the pump in gallery {i} was serviced by {prefix}-{i}."
            )
    return buffer.getvalue()


def _wait_job(http: httpx.Client, job_id: str) -> dict:
    deadline = time.monotonic() + 600
    while (job := http.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    return job


def test_two_serve_processes_on_one_database(replicas, tmp_path, postgres_url):
    a, b = (replica.http for replica in replicas)
    statuses: list[int] = []
    problems: list[str] = []

    def upload_check_ask_delete(n: int, doc_id: str, text: str, question: str) -> None:
        writer, other = (a, b) if n % 2 == 0 else (b, a)
        created = writer.post("/documents", json={"id": doc_id, "title": doc_id, "text": text})
        statuses.append(created.status_code)
        seen = other.get(f"/documents/{doc_id}")  # at once, through the other replica
        statuses.append(seen.status_code)
        if seen.status_code != 200 or seen.json()["text"] != text:
            problems.append(f"{doc_id} not visible through the other replica")
        for client in (other, writer):
            asked = client.post("/ask", json={"question": question})
            statuses.append(asked.status_code)
            for answer in asked.json().get("answers", []) if asked.status_code == 200 else []:
                document = client.get(f"/documents/{answer['doc_id']}")
                if document.status_code == 200 and (
                    document.json()["text"][answer["start"] : answer["end"]] != answer["text"]
                ):
                    problems.append(f"citation of {answer['text']!r} does not slice its document")
        scratch = f"{doc_id}-scratch"
        statuses.append(writer.post("/documents", json={"id": scratch, "text": f"Scratch copy: {text}"}).status_code)
        statuses.append(other.delete(f"/documents/{scratch}").status_code)
        for client in (writer, other):
            if client.get(f"/documents/{scratch}").status_code != 404:
                problems.append(f"{scratch} still visible after its delete")

    threads = [threading.Thread(target=upload_check_ask_delete, args=(n, *fact)) for n, fact in enumerate(FACTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert problems == [] and statuses and all(s < 500 for s in statuses), (problems, statuses)
    answer = b.post("/ask", json={"question": "Who built the Zorbani lighthouse?"}).json()["answers"][0]
    assert answer["doc_id"] == "lighthouse" and "Margit Olsen" in answer["text"]

    # A job submitted to one replica is processed (by either), and its documents seen through both.
    created = a.post("/jobs", files={"files": ("first.zip", _notes_zip(12, "first"))})
    assert created.status_code == 202, created.text
    job = _wait_job(b, created.json()["id"])
    assert (job["status"], job["processed"], job["added"]) == ("done", 12, 12), job
    for client in (a, b):
        assert {d["id"] for d in job["documents"]} <= {
            d["id"] for d in client.get("/documents?limit=500").json()["documents"]
        }

    # kill -9 of replica b in the middle of uploads and of a job: nothing committed is lost.
    job_id = b.post("/jobs", files={"files": ("second.zip", _notes_zip(KILLED_JOB_FILES, "second"))}).json()["id"]
    committed: list[tuple[str, str]] = []

    def keep_uploading() -> None:
        for i in range(1000):
            text = f"Upload {i} of the kill test: valve {i} was fitted by Oskar Lind-{i}."
            try:
                response = b.post("/documents", json={"id": f"kill-{i}", "text": text})
            except httpx.HTTPError:
                return  # the replica is gone
            if response.status_code in (200, 201):
                committed.append((f"kill-{i}", text))

    uploader = threading.Thread(target=keep_uploading)
    uploader.start()
    while len(committed) < 3 or (before := a.get(f"/jobs/{job_id}").json())["processed"] < 4:
        assert uploader.is_alive()
        time.sleep(0.05)
    replicas[1].kill()
    assert before["processed"] < KILLED_JOB_FILES, "the kill should land before the job's end"
    uploader.join(60)
    for doc_id, text in committed:
        stored = a.get(f"/documents/{doc_id}")
        assert stored.status_code == 200 and stored.json()["text"] == text, doc_id
    job = _wait_job(a, job_id)  # the survivor takes the dead replica's claimed files again
    assert (job["status"], job["processed"], job["added"] + job["unchanged"]) == (
        "done",
        KILLED_JOB_FILES,
        KILLED_JOB_FILES,
    ), job
    assert a.get("/health").status_code == 200
    assert not any((tmp_path / f"data-{n}" / "jobs").exists() for n in range(2))  # no job file on disk

    # The index commands on the database, beside the running replica.
    env = {**cli_env(tmp_path / "data-0"), "SPANQA_DATABASE_URL": postgres_url}
    check = subprocess.run(cli_command("index", "check", "--json"), cwd=REPO, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    total = a.get("/documents?limit=1").json()["total"]
    assert (report["documents"], report["problems"], report["index_type"]) == (total, [], "hnsw")
    copy = subprocess.run(
        cli_command("index", "migrate", "--to", str(tmp_path / "copy")),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert copy.returncode == 0 and f"copied {total} documents" in copy.stdout, copy.stdout + copy.stderr
