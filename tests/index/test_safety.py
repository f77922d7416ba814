"""The index survives what users do to it: a SIGKILL in the middle of an ingest, questions while a
folder is being ingested, a second process on the same data directory, many HTTP clients at once,
and bad files (each refused with a clear 4xx and nothing changed).

Real models, a real `spanqa ingest` subprocess, a real uvicorn server."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from index.chunker import chunk_text
from index.loaders import load_bytes
from index.store import DB_FILE
from qa.ingest_folder import ingest_paths
from qa.pipeline import NewDocument, Pipeline
from tests.fixtures.apps import embedder_of, pipeline_over, run_cli, served_in_thread, start_cli, store_of
from tests.fixtures.samples import (
    corrupt_pdf_bytes,
    docx_bytes,
    encrypted_pdf_bytes,
    pdf_bytes,
    scanned_pdf_bytes,
    squad_contexts,
    write_text_corpus,
    zip_bomb_docx_bytes,
)

BASE_DOCS = {
    "base-lighthouse": "The Zorbani lighthouse was built in 1887 by the engineer Margit Olsen. It stands on the "
    "northern cape of the island of Vell and its lamp can be seen from 32 kilometres away.",
    "base-ferry": "The ferry to Vell leaves the mainland at seven in the morning. Its captain, Ola Berg, has sailed "
    "the route for twenty years.",
}
PROBE = "Who built the Zorbani lighthouse?"
SQUAD_QUESTION = "What is the name of the region the Normans gave their name to?"


def answer_key(result) -> list[tuple]:
    return [(a.citation.doc_id, a.citation.start, a.citation.end, a.text, round(a.score, 4)) for a in result.answers]


def chunk_spans(pipeline: Pipeline, doc_id: str) -> list[tuple[int, int, str, int | None]]:
    return [(c.start, c.end, c.text, c.page) for c in store_of(pipeline).chunks_of(doc_id)]


def expected_spans(pipeline: Pipeline, doc_id: str) -> list[tuple[int, int, str, int | None]]:
    """The chunks a complete ingest of the stored document produces."""
    document = pipeline.get_document(doc_id)
    s = pipeline.settings
    chunks = chunk_text(
        doc_id, document.text, embedder_of(pipeline).tokenizer, s.chunk_tokens, s.chunk_overlap, document.pages
    )
    return sorted((c.start, c.end, c.text, c.page) for c in chunks)


def assert_whole_and_consistent(pipeline: Pipeline) -> set[str]:
    """FAISS agrees with SQLite, and every stored document has exactly its complete set of chunks.
    Returns the stored document ids."""
    assert store_of(pipeline).verify() == []
    ids = {info.id for info in pipeline.list_documents(limit=10_000)}
    assert store_of(pipeline).count_chunks() == sum(len(store_of(pipeline).chunks_of(i)) for i in ids)  # no orphans
    for doc_id in ids:
        assert sorted(chunk_spans(pipeline, doc_id)) == expected_spans(pipeline, doc_id), doc_id
    return ids


def assert_answers_cite_exactly(pipeline: Pipeline, result) -> None:
    for answer in result.answers:
        document = pipeline.get_document(answer.citation.doc_id)
        assert document.text[answer.citation.start : answer.citation.end] == answer.text
        passage = answer.citation.passage
        assert document.text[passage.start : passage.end] == passage.text


def count_documents(data_dir: Path) -> int:
    """Documents committed so far, read as a second process would (read-only)."""
    try:
        with sqlite3.connect(f"{(data_dir / DB_FILE).as_uri()}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def kill_mid_ingest(data_dir: Path, folder: Path, log: Path, committed: Callable[[], bool]) -> None:
    """Runs `spanqa ingest FOLDER` and SIGKILLs it once `committed()` says some batch is in, a moment
    into the next one."""
    process = start_cli(data_dir, "ingest", str(folder), log=log)
    try:
        deadline = time.monotonic() + 300
        while not committed():
            assert process.poll() is None, f"the ingest ended before it could be killed:\n{log.read_text()}"
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        time.sleep(random.uniform(0.05, 0.6))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_in_the_middle_of_an_ingest_leaves_whole_documents(make_pipeline, tmp_path):
    data_dir = tmp_path / "data"
    pipeline = make_pipeline(data_dir)
    pipeline.ingest_many([NewDocument(text=text, id=doc_id) for doc_id, text in BASE_DOCS.items()])
    probe_before = answer_key(pipeline.ask(PROBE, doc_ids=list(BASE_DOCS)))
    assert probe_before and probe_before[0][3] == "Margit Olsen"
    base_chunks = {doc_id: chunk_spans(pipeline, doc_id) for doc_id in BASE_DOCS}
    pipeline.close()  # hand the writer lock to the subprocess

    folder = tmp_path / "corpus"
    files = write_text_corpus(folder, squad_contexts(60))

    # 1. killed while adding documents
    kill_mid_ingest(data_dir, folder, tmp_path / "ingest-1.log", lambda: count_documents(data_dir) > len(BASE_DOCS))
    pipeline = make_pipeline(data_dir)  # opens: FAISS is rebuilt from SQLite and checked
    stored = assert_whole_and_consistent(pipeline)
    added = stored - set(BASE_DOCS)
    assert 0 < len(added) < len(files), "the kill should land between the first and the last batch"
    assert {pipeline.get_document(i).source for i in added} <= {f"corpus/{p.name}" for p in files}
    assert {doc_id: chunk_spans(pipeline, doc_id) for doc_id in BASE_DOCS} == base_chunks
    assert answer_key(pipeline.ask(PROBE, doc_ids=list(BASE_DOCS))) == probe_before
    assert_answers_cite_exactly(pipeline, pipeline.ask(PROBE))
    assert_answers_cite_exactly(pipeline, pipeline.ask(SQUAD_QUESTION))
    pipeline.close()

    # 2. the next ingest completes the folder: what was stored is unchanged, the rest is added
    finished = run_cli(data_dir, "ingest", str(folder), "--json")
    assert finished.returncode == 0, finished.stderr
    counts = json.loads(finished.stdout)["counts"]
    assert (counts["added"], counts["unchanged"]) == (len(files) - len(added), len(added))

    # 3. killed while replacing every document with a new version
    old = {f"corpus/{p.name}": load_bytes(p.read_bytes(), p.name).text for p in files}
    for path in files:
        path.write_text(path.read_text(encoding="utf-8").replace("</body>", "") + " Revised edition.", encoding="utf-8")
    new = {f"corpus/{p.name}": load_bytes(p.read_bytes(), p.name).text for p in files}
    start_generation = _generation(data_dir)
    kill_mid_ingest(data_dir, folder, tmp_path / "ingest-2.log", lambda: _generation(data_dir) > start_generation)
    pipeline = make_pipeline(data_dir)
    stored = assert_whole_and_consistent(pipeline)
    assert stored - set(BASE_DOCS) and len(stored) == len(BASE_DOCS) + len(files)  # replaced, never lost
    versions = {"old": 0, "new": 0}
    for doc_id in stored - set(BASE_DOCS):
        document = pipeline.get_document(doc_id)
        version = "new" if document.text == new[document.source] else "old"
        assert document.text == (new if version == "new" else old)[document.source]
        versions[version] += 1
    assert versions["new"] > 0 and versions["old"] > 0, versions
    assert answer_key(pipeline.ask(PROBE, doc_ids=list(BASE_DOCS))) == probe_before


def _generation(data_dir: Path) -> int:
    with sqlite3.connect(f"{(data_dir / DB_FILE).as_uri()}?mode=ro", uri=True, timeout=5) as conn:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])


def test_questions_while_a_folder_is_ingested_get_valid_answers(make_pipeline, tmp_path):
    pipeline = make_pipeline()
    pipeline.ingest_many([NewDocument(text=text, id=doc_id) for doc_id, text in BASE_DOCS.items()])
    folder = tmp_path / "incoming"
    write_text_corpus(folder, squad_contexts(24, offset=100))
    ingested = threading.Event()
    failures: list[BaseException] = []
    answered: list[int] = []
    summaries = []

    def ingest() -> None:
        try:
            summaries.append(ingest_paths(pipeline, [folder], batch_size=3))
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
        finally:
            ingested.set()

    def ask(question: str) -> None:
        try:
            while not ingested.is_set():
                result = pipeline.ask(question)
                assert result.passages, "retrieval found nothing"
                assert_answers_cite_exactly(pipeline, result)
                if question == PROBE:
                    assert result.answers and result.answers[0].text == "Margit Olsen"
                answered.append(len(result.answers))
        except BaseException as error:  # noqa: BLE001
            failures.append(error)

    threads = [threading.Thread(target=ingest)] + [
        threading.Thread(target=ask, args=(q,)) for q in (PROBE, SQUAD_QUESTION)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not failures, failures
    assert len(answered) >= 4, "the questions should have run while the ingest was going on"
    assert summaries[0].counts()["added"] == 24
    assert_whole_and_consistent(pipeline)


def test_a_second_process_is_refused_the_writer_lock(make_pipeline, tmp_path):
    data_dir = tmp_path / "data"
    pipeline = make_pipeline(data_dir)  # this process holds the writer lock
    pipeline.ingest(NewDocument(text=BASE_DOCS["base-ferry"], id="base-ferry"))
    folder = tmp_path / "more"
    write_text_corpus(folder, squad_contexts(2))
    result = run_cli(data_dir, "ingest", str(folder))
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert f"the data directory {data_dir} is in use by another spanqa process" in message
    assert "HTTP API" in message  # the hint: upload through the running server
    assert store_of(pipeline).count_documents() == 1


# ---- over HTTP -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_pipeline(base_settings, embedder, reader, tmp_path_factory) -> Iterator[Pipeline]:

    data_dir = tmp_path_factory.mktemp("safety-api")
    settings = base_settings.model_copy(update={"data_dir": data_dir})
    pipeline = pipeline_over(settings, embedder, reader)
    pipeline.ingest_many([NewDocument(text=text, id=doc_id) for doc_id, text in BASE_DOCS.items()])
    yield pipeline
    pipeline.close()


@pytest.fixture(scope="module")
def server_url(app_pipeline) -> Iterator[str]:
    """The app served by a real uvicorn on a free port, in a background thread."""
    from api.app import create_app

    with served_in_thread(create_app(app_pipeline.settings, pipeline=app_pipeline)) as port:
        yield f"http://127.0.0.1:{port}"


def test_api_serves_concurrent_asks_uploads_and_deletes(server_url, app_pipeline):
    documents_before = store_of(app_pipeline).count_documents()
    chunks_before = store_of(app_pipeline).count_chunks()
    uploads = [
        ("annual.pdf", pdf_bytes(), "Who is the treasurer of the trust?", "Ingrid Halvorsen"),
        ("handbook.docx", docx_bytes(), "Who sells diesel at the harbour?", "Astrid Moe"),
    ]
    failures: list[str] = []
    uploads_done = threading.Event()
    asked: list[int] = []

    def check(response: httpx.Response, status: int, what: str) -> dict | None:
        if response.status_code != status:
            failures.append(f"{what}: {response.status_code} {response.text[:300]}")
            return None
        return response.json() if response.content else {}

    def uploader(worker: int) -> None:
        with httpx.Client(base_url=server_url, timeout=300) as client:
            for cycle in range(2):
                for name, data, question, expected in uploads:
                    doc_id = f"w{worker}-{cycle}-{name.split('.')[0]}"
                    added = check(
                        client.post("/documents", files={"file": (name, data)}, data={"id": doc_id}),
                        201,
                        f"upload {doc_id}",
                    )
                    if added is None:
                        continue
                    body = check(
                        client.post("/ask", json={"question": question, "filters": {"doc_ids": [doc_id]}}),
                        200,
                        f"ask {doc_id}",
                    )
                    if body is not None and (not body["answers"] or body["answers"][0]["text"] != expected):
                        failures.append(f"ask {doc_id}: {body['answers'][:1]}")
                    check(client.delete(f"/documents/{doc_id}"), 204, f"delete {doc_id}")

    def asker(question: str, expected: str) -> None:
        with httpx.Client(base_url=server_url, timeout=300) as client:
            texts: dict[str, str] = {}
            while not uploads_done.is_set() or not asked:
                body = check(client.post("/ask", json={"question": question}), 200, "ask")
                if body is None:
                    return
                asked.append(1)
                if not body["answers"] or body["answers"][0]["text"] != expected:
                    failures.append(f"{question}: {body['answers'][:1]}")
                for answer in body["answers"]:
                    doc = client.get(f"/documents/{answer['doc_id']}")
                    if doc.status_code == 404:  # deleted meanwhile by an uploader: fine
                        continue
                    text = texts.setdefault(answer["doc_id"], doc.json()["text"])
                    if text[answer["start"] : answer["end"]] != answer["text"]:
                        failures.append(f"citation does not slice: {answer}")

    writers = [threading.Thread(target=uploader, args=(w,)) for w in range(2)]
    readers = [
        threading.Thread(target=asker, args=(PROBE, "Margit Olsen")),
        threading.Thread(target=asker, args=("Who is the captain of the ferry?", "Ola Berg")),
    ]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join(timeout=600)
    uploads_done.set()
    for thread in readers:
        thread.join(timeout=600)
    assert not failures, failures
    assert len(asked) >= 2
    assert store_of(app_pipeline).count_documents() == documents_before
    assert store_of(app_pipeline).count_chunks() == chunks_before
    assert store_of(app_pipeline).verify() == []


@pytest.fixture(scope="module")
def client(app_pipeline) -> Iterator[TestClient]:
    from api.app import create_app

    with TestClient(create_app(app_pipeline.settings, pipeline=app_pipeline)) as c:
        yield c


BAD_FILES = [
    ("report.pdf", corrupt_pdf_bytes(), 422, "not a readable PDF"),
    ("scan.pdf", scanned_pdf_bytes(), 422, "no extractable text"),
    ("locked.pdf", encrypted_pdf_bytes(), 422, "encrypted"),
    ("invoice.docx", zip_bomb_docx_bytes(64), 413, "zip bomb"),
    ("notes.docx", b"This is not a zip at all", 422, "not a valid zip"),
    ("junk.txt", random.Random(7).randbytes(20_000), 422, "binary"),
    ("empty.txt", b"", 422, "empty"),
    ("blank.md", b"  \n\n  ", 422, "empty"),
    ("tool.exe", b"MZ\x90\x00\x03", 415, "unsupported file type"),
]


@pytest.mark.parametrize("name,data,status,needle", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_get_a_clear_error_and_change_nothing(client, app_pipeline, name, data, status, needle):
    generation = store_of(app_pipeline).generation()
    response = client.post("/documents", files={"file": (name, data)})
    assert response.status_code == status, response.text
    assert needle in response.json()["detail"]
    assert store_of(app_pipeline).generation() == generation


def test_fifty_megabyte_single_line_file_is_413_and_changes_nothing(client, app_pipeline, make_pipeline):
    generation = store_of(app_pipeline).generation()
    line = b"a" * (50 * 1024 * 1024)
    response = client.post("/documents", files={"file": ("one-line.txt", line)})
    assert response.status_code == 413 and "limit" in response.json()["detail"]
    assert store_of(app_pipeline).generation() == generation
    # with an upload limit that lets it through, the extracted-text limit refuses it
    roomy = make_pipeline(max_upload_bytes=64 * 1024 * 1024)
    with pytest.raises(Exception, match="characters") as caught:
        roomy.ingest_bytes(line, "one-line.txt")
    assert type(caught.value).__name__ == "DocumentTooLarge"
    assert store_of(roomy).count_documents() == 0
