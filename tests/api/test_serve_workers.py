"""`spanqa serve --workers N`: refused on SQLite + FAISS (one writing process), and on PostgreSQL two
real worker processes behind one port (uvicorn on 127.0.0.1): documents ingested and questions asked
through it, zero 5xx, every citation exact, and both workers answered (their `/health` pids)."""

from __future__ import annotations

import subprocess
import threading
import time

import httpx
import pytest

from bench.server import free_port
from tests.api.test_postgres_replicas import FACTS
from tests.api.test_postgres_serve import _notes_zip
from tests.fixtures.apps import cli_command, cli_env, run_cli
from tests.fixtures.samples import REPO

ROUNDS = 6  # each thread asks every question this many times


def test_more_than_one_worker_on_sqlite_is_refused_saying_why(tmp_path):
    result = run_cli(tmp_path / "data", "serve", "--workers", "2", "--port", str(free_port()))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "SPANQA_DATABASE_URL" in result.stderr and "writer lock" in result.stderr


def _fresh() -> httpx.Limits:
    return httpx.Limits(max_keepalive_connections=0)  # a new connection per request: any worker may take it


@pytest.fixture
def two_workers(tmp_path, postgres_url):
    port = free_port()
    env = {**cli_env(tmp_path / "data"), "SPANQA_DATABASE_URL": postgres_url, "SPANQA_DATABASE_POOL_SIZE": "4"}
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cli_command("serve", "--workers", "2", "--port", str(port)),
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=_fresh())
    try:
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if http.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield http
    finally:
        http.close()
        process.terminate()  # uvicorn's manager stops its workers
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


def test_two_workers_on_postgres_answer_with_exact_citations(two_workers):
    http = two_workers
    for doc_id, text, _ in FACTS:
        created = http.post("/documents", json={"id": doc_id, "title": doc_id, "text": text})
        assert created.status_code in (200, 201), created.text
    texts = {doc_id: text for doc_id, text, _ in FACTS}
    job = http.post(
        "/jobs", files={"files": ("notes.zip", _notes_zip(8, "notes"))}
    ).json()  # the workers' runners share it
    deadline = time.monotonic() + 300
    while (job := http.get(f"/jobs/{job['id']}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    assert (job["status"], job["added"]) == ("done", 8), job
    texts.update({d["id"]: http.get(f"/documents/{d['id']}").json()["text"] for d in job["documents"]})
    statuses: list[int] = []
    problems: list[str] = []
    pids: set[int] = set()

    def ask_all() -> None:
        with httpx.Client(base_url=http.base_url, timeout=120, limits=_fresh()) as client:
            for _ in range(ROUNDS):
                for doc_id, _, question in FACTS:
                    asked = client.post("/ask", json={"question": question})
                    statuses.append(asked.status_code)
                    answers = asked.json().get("answers", []) if asked.status_code == 200 else []
                    if not answers or answers[0]["doc_id"] != doc_id:
                        problems.append(f"{question!r}: {answers[:1]}")
                    for answer in answers:
                        if texts[answer["doc_id"]][answer["start"] : answer["end"]] != answer["text"]:
                            problems.append(f"citation of {answer['text']!r} does not slice its document")
                    health = client.get("/health")
                    statuses.append(health.status_code)
                    pids.add(health.json()["pid"])

    threads = [threading.Thread(target=ask_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    for _ in range(200):  # questions are done; more health checks until both workers have answered
        if len(pids) >= 2:
            break
        pids.add(http.get("/health").json()["pid"])
    assert problems == [] and len(statuses) == 2 * 4 * ROUNDS * len(FACTS), problems
    assert all(status < 500 for status in statuses), statuses
    assert len(pids) == 2, pids  # both worker processes served
