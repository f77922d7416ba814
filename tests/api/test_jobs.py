"""Background ingestion jobs through the real API (TestClient), real models, real files:
a 500-file zip with three broken files, metadata, listing, cancelling, and hostile archives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seeded_client
from tests.fixtures.samples import corrupt_pdf_bytes, zip_bomb_docx_bytes
from tests.jobs.archives import make_tar_gz, make_zip, zip_bomb

FIRST = ["Ada", "Boris", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca"]
FIRST += ["Mara", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wim", "Xenia", "Yusuf"]
LAST = ["Abernathy", "Brightwater", "Castellanos", "Delacroix", "Eriksen", "Fairbanks", "Gallagher", "Halvorsen"]
LAST += ["Ishikawa", "Jablonski", "Kowalczyk", "Lindqvist", "Montgomery", "Nakamura", "Oyelaran", "Pemberton"]
LAST += ["Quartermain", "Rasmussen", "Sokolova", "Thornbury"]
CITIES = ["Ghent", "Porto", "Tartu", "Bergen", "Lyon", "Brno", "Turku", "Graz", "Split", "Cork", "Aarhus"]


def widget_text(i: int) -> str:
    return (
        f"Widget model {i:03d} was designed by {FIRST[i % 25]} {LAST[i // 25]} in {CITIES[i % 11]}."
        f" It weighs {100 + i} grams."
    )


@pytest.fixture(scope="module")
def client(base_settings, embedder, reader, tmp_path_factory) -> Iterator[TestClient]:
    settings = base_settings.model_copy(
        update={"max_upload_bytes": 2_000_000, "max_job_files": 600, "max_job_unpacked_bytes": 20_000_000}
    )
    yield from seeded_client(settings, embedder, reader, tmp_path_factory.mktemp("jobs-data"))


def wait_for(client: TestClient, job_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def submit(client: TestClient, files: list[tuple[str, bytes]], **data: str):
    return client.post("/jobs", files=[("files", (name, content)) for name, content in files], data=data)


def test_a_500_file_zip_with_three_broken_files_ends_done_and_its_documents_answer(client):
    entries = {f"widgets/widget-{i:03d}.txt": widget_text(i).encode() for i in range(497)}
    broken = {"widgets/scan.pdf": corrupt_pdf_bytes(), "widgets/empty.txt": b" \n ", "widgets/bomb.docx": b""}
    broken["widgets/bomb.docx"] = zip_bomb_docx_bytes(64)
    r = submit(client, [("widgets.zip", make_zip({**entries, **broken}))], metadata='{"batch": "w1"}')
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/jobs/{r.json()['id']}"
    assert (r.json()["status"], r.json()["total"]) == ("queued", 500)
    job = wait_for(client, r.json()["id"])
    assert (job["status"], job["total"], job["processed"], job["added"]) == ("done", 500, 500, 497), job
    assert sorted(f["file"] for f in job["failed"]) == sorted(f"widgets.zip/{name}" for name in broken)
    assert all(f["error"] for f in job["failed"])
    assert len(job["documents"]) == 497 and job["started_at"] <= job["finished_at"]
    by_file = {d["file"]: d for d in job["documents"]}
    for i in (7, 260, 481):  # a few of them, asked in the whole corpus
        document = by_file[f"widgets.zip/widgets/widget-{i:03d}.txt"]
        stored = client.get(f"/documents/{document['id']}").json()
        assert stored["text"] == widget_text(i) and stored["metadata"] == {"batch": "w1"}
        answer = client.post("/ask", json={"question": f"Who designed widget model {i:03d}?"}).json()["answers"][0]
        assert answer["doc_id"] == document["id"] and LAST[i // 25] in answer["text"], answer
        assert stored["text"][answer["start"] : answer["end"]] == answer["text"]
    listed = client.get("/jobs", params={"limit": 5}).json()
    assert listed["jobs"][0]["id"] == job["id"] and listed["jobs"][0]["failures"] == 3
    assert client.delete(f"/jobs/{job['id']}").status_code == 409  # already ended
    resubmitted = submit(client, [("widgets.zip", make_zip({**entries, **broken}))], metadata='{"batch": "w1"}')
    again = wait_for(client, resubmitted.json()["id"])
    assert (again["status"], again["unchanged"], len(again["failed"])) == ("done", 497, 3)  # same content hash


def test_cancelling_a_job_keeps_what_it_stored_and_stops(client):
    entries = {f"n-{i:03d}.txt": f"Note {i} about the harbour crane number {i}.".encode() for i in range(300)}
    before = client.get("/documents").json()["total"]
    created = submit(client, [("notes.tar.gz", make_tar_gz(entries))]).json()
    cancelled = client.delete(f"/jobs/{created['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    runner = client.app.state.job_runner
    deadline = time.monotonic() + 120
    while runner.current_job == created["id"] and time.monotonic() < deadline:
        time.sleep(0.1)  # the batch being stored when it was cancelled is recorded; nothing after it
    job = client.get(f"/jobs/{created['id']}").json()
    assert job["status"] == "cancelled" and job["processed"] < 300
    time.sleep(1)
    assert client.get(f"/jobs/{created['id']}").json()["processed"] == job["processed"]
    for document in job["documents"]:
        assert client.get(f"/documents/{document['id']}").status_code == 200
    assert client.get("/documents").json()["total"] == before + job["added"]  # stored = what the job reports


def test_hostile_archives_fail_their_entries_or_are_refused_and_nothing_lands_outside(client, tmp_path_factory):
    data_dir = Path(client.app.state.pipeline.settings.data_dir)
    hostile_zip = make_zip(
        {"ok.txt": b"The lighthouse keeper is Marta Quill.", "../../escaped.txt": b"x", "/tmp/abs.txt": b"y"},
        symlinks={"passwd.txt": "/etc/passwd"},
    )
    hostile_tar = make_tar_gz({"fine.md": b"# Fine\n\nAll good.", "../up.txt": b"z"}, symlinks={"l.txt": "/etc/hosts"})
    r = submit(client, [("hostile.zip", hostile_zip), ("hostile.tgz", hostile_tar)])
    assert r.status_code == 202, r.text
    assert len(r.json()["failed"]) == 5  # refused before ingestion, already in the first report
    job = wait_for(client, r.json()["id"])
    assert (job["status"], job["added"] + job["unchanged"] + job["replaced"], len(job["failed"])) == ("done", 2, 5)
    assert {d["file"] for d in job["documents"]} == {"hostile.zip/ok.txt", "hostile.tgz/fine.md"}
    for root in (data_dir, data_dir.parent, Path("/tmp")):
        assert not list(root.rglob("escaped.txt")) and not list(root.glob("up.txt"))
    assert submit(client, [("bomb.zip", zip_bomb(64 * 1024 * 1024))]).status_code == 413
    too_many = make_zip({f"{i}.txt": b"x" for i in range(601)})
    assert submit(client, [("many.zip", too_many)]).status_code == 413
    assert client.post("/jobs", json={"files": []}).status_code == 415
    assert client.post("/jobs", data={"metadata": "{}"}, files={"other": ("a.txt", b"x")}).status_code == 422
    assert submit(client, [("a.txt", b"x")], metadata="[1]").status_code == 422
    assert client.get("/jobs/nope").status_code == 404 and client.delete("/jobs/nope").status_code == 404
    remaining = [p.name for p in (data_dir / "jobs").iterdir()] if (data_dir / "jobs").exists() else []
    assert r.json()["id"] not in remaining  # its uploaded files are removed once it ended
