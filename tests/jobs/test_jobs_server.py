"""A real `spanqa serve` (uvicorn on 127.0.0.1, a subprocess) killed with SIGKILL in the middle of a job,
then restarted: the job resumes and ends `done`, its report and the index agree, no document is
half-stored, and `spanqa index check` passes."""

from __future__ import annotations

import io
import signal
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.server import free_port
from tests.fixtures.apps import cli_command, cli_env, run_cli
from tests.fixtures.samples import REPO

pytestmark = pytest.mark.slow  # two server starts with real models: over a minute on a shared 2-core machine
FILES = 400


class Served:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**cli_env(data_dir), "SPANQA_JOB_BATCH_FILES": "16"}
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                cli_command("serve", "--port", str(self.port)), cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.http = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + 300
        while True:
            assert self.process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if self.http.get("/health").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(60)


@pytest.fixture
def servers(tmp_path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for server in started:
        server.stop(signal.SIGKILL)


def notes_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i in range(FILES):
            archive.writestr(
                f"notes/note-{i:03d}.txt", f"Note {i}: the pump in gallery {i} was serviced by Ilse Brandt-{i}."
            )
        archive.writestr("notes/broken.pdf", b"%PDF-1.4 this is not really a PDF")
    return buffer.getvalue()


def test_sigkill_in_the_middle_of_a_job_then_restart_finishes_it_and_report_and_index_agree(tmp_path, servers):
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    servers.append(Served(data_dir, log))
    created = servers[0].http.post("/jobs", files={"files": ("notes.zip", notes_zip())}).json()
    job_id = created["id"]
    while (job := servers[0].http.get(f"/jobs/{job_id}").json())["processed"] < 48:
        assert job["status"] in ("queued", "running"), job
        time.sleep(0.05)
    servers[0].stop(signal.SIGKILL)
    assert servers[0].process.returncode == -signal.SIGKILL
    assert job["processed"] < FILES + 1, "the kill should land before the job's end"

    servers.append(Served(data_dir, log))  # the restart resumes the job
    http = servers[1].http
    deadline = time.monotonic() + 600
    while (job := http.get(f"/jobs/{job_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    assert (job["status"], job["total"], job["processed"]) == ("done", FILES + 1, FILES + 1), job
    assert [f["file"] for f in job["failed"]] == ["notes.zip/notes/broken.pdf"]
    assert job["added"] + job["unchanged"] == FILES and job["replaced"] == 0
    stored = http.get("/documents", params={"limit": 500}).json()
    by_id = {d["id"]: d for d in stored["documents"]}
    assert stored["total"] == FILES and set(by_id) == {d["id"] for d in job["documents"]}
    for document in job["documents"]:
        assert by_id[document["id"]]["chunks"] == document["chunks"] >= 1
    assert not (data_dir / "jobs" / job_id).exists()  # its uploaded files are gone
    servers[1].stop()
    check = run_cli(data_dir, "index", "check", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
