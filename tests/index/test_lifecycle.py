"""The life of documents, as a user lives it: ingest a mixed folder, re-ingest (no-op), edit one file
(only it changes), delete; answers that cite the right file and page over HTTP; metadata and id
filters; the `spanqa ingest` / `spanqa index check|rebuild` commands and the model-mismatch message.

Real models, real files (made by reportlab and python-docx), the real app."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.store import DB_FILE
from qa.ingest_folder import ingest_paths
from tests.fixtures.apps import pipeline_over, run_cli, store_of
from tests.fixtures.samples import (
    HTML_PAGE,
    LATIN1_TEXT,
    MARKDOWN_NOTE,
    corrupt_pdf_bytes,
    docx_bytes,
    pdf_bytes,
)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def make_folder(root: Path) -> Path:
    """A folder as people have them: PDF, DOCX, HTML, Markdown, Latin-1 text, and some things that
    are not documents or not readable."""
    folder = root / "trust"
    (folder / "reports").mkdir(parents=True)
    (folder / ".cache").mkdir()
    (folder / "reports" / "annual.pdf").write_bytes(pdf_bytes())
    (folder / "handbook.docx").write_bytes(docx_bytes())
    (folder / "news.html").write_text(HTML_PAGE, encoding="utf-8")
    (folder / "notes.md").write_text(MARKDOWN_NOTE, encoding="utf-8")
    (folder / "cafe.txt").write_bytes(LATIN1_TEXT.encode("latin-1"))
    (folder / "reports" / "broken.pdf").write_bytes(corrupt_pdf_bytes())
    (folder / "empty.txt").write_bytes(b"")
    (folder / "junk.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (folder / ".cache" / "x.txt").write_text("cached")
    return folder


def by_name(summary, status: str) -> dict[str, object]:
    return {Path(o.path).name: o for o in summary.of(status)}


def test_folder_ingest_summary_metadata_and_noop_reingest(make_pipeline, tmp_path):
    pipeline = make_pipeline()
    folder = make_folder(tmp_path)
    summary = ingest_paths(pipeline, [folder])

    assert summary.counts() == {"added": 5, "replaced": 0, "unchanged": 0, "skipped": 2, "failed": 3}
    assert set(by_name(summary, "added")) == {"annual.pdf", "handbook.docx", "news.html", "notes.md", "cafe.txt"}
    failed = {name: o.reason for name, o in by_name(summary, "failed").items()}
    assert "not a readable PDF" in failed["broken.pdf"]
    assert "empty" in failed["empty.txt"]
    assert "binary" in failed["junk.txt"]
    skipped = {name: o.reason for name, o in by_name(summary, "skipped").items()}
    assert skipped == {".cache": "hidden folder", "logo.png": "unsupported type .png"}

    infos = {info.source: info for info in pipeline.list_documents(limit=100)}
    assert set(infos) == {
        "trust/reports/annual.pdf",
        "trust/handbook.docx",
        "trust/news.html",
        "trust/notes.md",
        "trust/cafe.txt",
    }
    pdf = infos["trust/reports/annual.pdf"]
    assert (pdf.content_type, pdf.pages, pdf.title) == ("application/pdf", 3, "Vell Island Trust annual report")
    assert infos["trust/handbook.docx"].content_type == DOCX_TYPE
    assert infos["trust/news.html"].title == "The lighthouse reopens"
    assert infos["trust/notes.md"].title == "Harbour notes"
    assert all(time.time() - info.created_at < 600 for info in infos.values())
    assert pipeline.get_document(infos["trust/cafe.txt"].id).text == LATIN1_TEXT
    for info in infos.values():  # every chunk slices its document and carries its page
        document = pipeline.get_document(info.id)
        for chunk in store_of(pipeline).chunks_of(info.id):
            assert document.text[chunk.start : chunk.end] == chunk.text
            assert chunk.page == document.page_at(chunk.start)
    assert {c.page for c in store_of(pipeline).chunks_of(pdf.id)} == {1, 2, 3}

    generation = store_of(pipeline).generation()
    again = ingest_paths(pipeline, [folder])
    assert again.counts() == {"added": 0, "replaced": 0, "unchanged": 5, "skipped": 2, "failed": 3}
    assert store_of(pipeline).generation() == generation  # nothing was written
    assert store_of(pipeline).verify() == []


def test_editing_one_file_replaces_only_that_document(make_pipeline, tmp_path):
    pipeline = make_pipeline()
    folder = make_folder(tmp_path)
    ingest_paths(pipeline, [folder])
    before = {
        info.source: (info.id, [c.id for c in store_of(pipeline).chunks_of(info.id)])
        for info in pipeline.list_documents()
    }
    question = "Who is the harbour master?"
    notes_id = before["trust/notes.md"][0]
    first = pipeline.ask(question, doc_ids=[notes_id]).answers[0]
    assert first.text == "Sven Lund"

    notes = folder / "notes.md"
    notes.write_text(MARKDOWN_NOTE.replace("Sven Lund", "Kari Nordmann"), encoding="utf-8")
    summary = ingest_paths(pipeline, [folder])
    assert summary.counts()["replaced"] == 1 and summary.counts()["unchanged"] == 4 and summary.counts()["added"] == 0
    assert [Path(o.path).name for o in summary.of("replaced")] == ["notes.md"]

    after = {
        info.source: (info.id, [c.id for c in store_of(pipeline).chunks_of(info.id)])
        for info in pipeline.list_documents()
    }
    assert after.keys() == before.keys()
    for source in before:
        if source == "trust/notes.md":
            assert after[source][0] == notes_id  # the same document, new chunks
            assert not set(after[source][1]) & set(before[source][1])
        else:
            assert after[source] == before[source]  # untouched: same chunk ids
    with pytest.raises(KeyError):
        store_of(pipeline).get_chunks(before["trust/notes.md"][1])
    assert store_of(pipeline).count_vectors() == store_of(pipeline).count_chunks()
    answer = pipeline.ask(question, doc_ids=[notes_id]).answers[0]
    assert answer.text == "Kari Nordmann"
    assert pipeline.get_document(notes_id).text[answer.citation.start : answer.citation.end] == "Kari Nordmann"

    pipeline.delete(notes_id)
    remaining_ids = {c for _, chunks in after.values() for c in chunks} - set(after["trust/notes.md"][1])
    assert set(store_of(pipeline).all_chunk_ids()) == remaining_ids
    assert store_of(pipeline).count_vectors() == len(remaining_ids)
    assert all(p.doc_id != notes_id for p in pipeline.retrieve(question, top_k=20))
    assert store_of(pipeline).verify() == []


def test_metadata_filter_semantics(make_pipeline):
    from qa.pipeline import NewDocument

    pipeline = make_pipeline()
    docs = {
        "a": {"team": "legal", "year": 2023, "public": True, "code": "1"},
        "b": {"team": "ops", "year": 2024, "public": False, "code": 1},
        "c": {"team": "ops", "year": 2024.0, "owner": None},
    }
    pipeline.ingest_many([NewDocument(text=f"Document {i} about otters.", id=i, metadata=m) for i, m in docs.items()])
    match = store_of(pipeline).doc_ids_matching
    assert match({"team": "ops"}) == ["b", "c"]
    assert match({"team": "ops", "year": 2024}) == ["b", "c"]  # 2024 == 2024.0
    assert match({"year": [2023, 2025]}) == ["a"]
    assert match({"public": True}) == ["a"] and match({"public": False}) == ["b"]
    assert match({"code": 1}) == ["b"] and match({"code": "1"}) == ["a"]  # types are compared
    assert match({"owner": None}) == ["c"]
    assert match({"team": "nobody"}) == [] and match({"missing": "x"}) == []
    assert match({"team": []}) == []
    assert pipeline.filter_documents(["a", "b"], {"team": "ops"}) == {"b"}
    assert pipeline.filter_documents(None, None) is None


# ---- over HTTP -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(base_settings, embedder, reader, tmp_path_factory) -> Iterator[TestClient]:
    """The real app on a fresh data directory, with the sample PDF, DOCX and HTML uploaded."""
    from api.app import create_app

    data_dir = tmp_path_factory.mktemp("lifecycle-api")
    settings = base_settings.model_copy(update={"data_dir": data_dir})
    pipeline = pipeline_over(settings, embedder, reader)
    with TestClient(create_app(settings, pipeline=pipeline)) as c:
        for name, data in (
            ("annual.pdf", pdf_bytes()),
            ("handbook.docx", docx_bytes()),
            ("news.html", HTML_PAGE.encode()),
        ):
            r = c.post("/documents", files={"file": (name, data)}, data={"id": name.split(".")[0]})
            assert r.status_code == 201, r.text
        yield c
    pipeline.close()


def ask_top(client: TestClient, question: str, **body) -> dict:
    r = client.post("/ask", json={"question": question, **body})
    assert r.status_code == 200, r.text
    response = r.json()
    assert response["answers"], response
    return response["answers"][0]


def assert_cites_exactly(client: TestClient, answer: dict) -> dict:
    document = client.get(f"/documents/{answer['doc_id']}").json()
    assert document["text"][answer["start"] : answer["end"]] == answer["text"]
    passage = answer["passage"]
    assert document["text"][passage["start"] : passage["end"]] == passage["text"]
    assert passage["text"][passage["answer_start"] : passage["answer_end"]] == answer["text"]
    return document


def test_pdf_answer_on_page_two_cites_page_two_with_exact_offsets(client):
    answer = ask_top(client, "Who is the treasurer of the trust?")
    assert answer["text"] == "Ingrid Halvorsen" and answer["doc_id"] == "annual"
    assert answer["page"] == 2
    document = assert_cites_exactly(client, answer)
    assert document["content_type"] == "application/pdf" and document["title"] == "Vell Island Trust annual report"
    pages = document["pages"]
    assert [p["number"] for p in pages] == [1, 2, 3]
    assert pages[1]["start"] <= answer["start"] < answer["end"] <= pages[1]["end"]
    assert document["text"][pages[1]["start"] : pages[1]["end"]].startswith("Finance\n")
    summary = next(d for d in client.get("/documents").json()["documents"] if d["id"] == "annual")
    assert summary["pages"] == 3


def test_answers_from_other_pages_cite_their_page(client):
    answer = ask_top(client, "How many pairs of puffins were counted?", filters={"doc_ids": ["annual"]})
    assert "3,200" in answer["text"] and answer["page"] == 3
    answer = ask_top(client, "When was the trust founded?", filters={"doc_ids": ["annual"]})
    assert answer["text"] == "1921" and answer["page"] == 1
    assert_cites_exactly(client, answer)


def test_docx_table_and_html_answers_cite_exactly(client):
    answer = ask_top(client, "Who sells diesel at the harbour?")
    assert answer["text"] == "Astrid Moe" and answer["doc_id"] == "handbook" and answer["page"] is None
    assert_cites_exactly(client, answer)
    answer = ask_top(client, "Who led the restoration of the Zorbani lighthouse?")
    assert answer["text"] == "Margit Olsen" and answer["doc_id"] == "news"
    document = assert_cites_exactly(client, answer)
    assert "SECRET_SCRIPT_TEXT" not in document["text"] and document["pages"] == []


def test_ask_filters_by_metadata_and_document_ids(client):
    for doc_id, team, year, name in (
        ("memo-legal", "legal", 2023, "Carla Mendes"),
        ("memo-ops", "operations", 2024, "Tomas Berg"),
    ):
        r = client.post(
            "/documents",
            json={
                "id": doc_id,
                "text": f"The office manager of the {team} team is {name}. The office is on the third floor.",
                "metadata": {"team": team, "year": year},
            },
        )
        assert r.status_code == 201, r.text
    question = "Who is the office manager?"
    legal = ask_top(client, question, filters={"metadata": {"team": "legal"}})
    assert legal["text"] == "Carla Mendes" and legal["doc_id"] == "memo-legal"
    ops = ask_top(client, question, filters={"metadata": {"year": [2024, 2025]}})
    assert ops["text"] == "Tomas Berg"
    by_id = client.post("/ask", json={"question": question, "filters": {"doc_ids": ["memo-ops"]}}).json()
    assert {p["doc_id"] for p in by_id["passages"]} == {"memo-ops"}
    both = client.post(
        "/ask", json={"question": question, "filters": {"doc_ids": ["memo-ops"], "metadata": {"team": "legal"}}}
    ).json()
    assert both["no_answer"] is True and both["passages"] == []
    nothing = client.post("/ask", json={"question": question, "filters": {"metadata": {"team": "finance"}}}).json()
    assert nothing["no_answer"] is True and nothing["passages"] == []
    bad = client.post("/ask", json={"question": question, "filters": {"metadata": {"team": {"$ne": "x"}}}})
    assert bad.status_code == 422 and "filters" in bad.json()["detail"]
    bad_key = client.post("/ask", json={"question": question, "filters": {"metadata": {'te"am': "x"}}})
    assert bad_key.status_code == 422 and "key" in bad_key.json()["detail"]
    for doc_id in ("memo-legal", "memo-ops"):
        assert client.delete(f"/documents/{doc_id}").status_code == 204


# ---- the command line ------------------------------------------------------------------------


def test_cli_ingest_reingest_check_and_model_mismatch(tmp_path):
    """`spanqa ingest` twice (editing one file between), `spanqa index check`, a model mismatch that
    `spanqa serve` reports clearly, and `spanqa index rebuild` that fixes it."""
    folder = make_folder(tmp_path)
    data_dir = tmp_path / "data"

    first = run_cli(data_dir, "ingest", str(folder), "--exclude", "empty.txt", "--exclude", "junk.txt", "--json")
    assert first.returncode == 1, first.stderr  # broken.pdf failed
    report = json.loads(first.stdout)
    assert report["counts"] == {"added": 5, "replaced": 0, "unchanged": 0, "skipped": 4, "failed": 1}
    assert "[1/6] trust/cafe.txt" in first.stderr  # progress, a line per file off a terminal

    (folder / "reports" / "broken.pdf").unlink()
    (folder / "cafe.txt").write_bytes((LATIN1_TEXT + " Fermé le lundi.").encode("latin-1"))
    second = run_cli(data_dir, "ingest", str(folder), "-x", "empty.txt", "-x", "junk.txt")
    assert second.returncode == 0, second.stderr
    assert "added 0 · replaced 1 · unchanged 4 · skipped 4 · failed 0" in second.stdout
    assert "trust/cafe.txt ->" in second.stdout

    with sqlite3.connect(data_dir / DB_FILE) as conn:  # as if built with another model
        (model,) = conn.execute("SELECT value FROM meta WHERE key = 'model_name'").fetchone()
        conn.execute("UPDATE meta SET value = 'someone/old-embedder' WHERE key = 'model_name'")
    serve = run_cli(data_dir, "serve", "--port", "1")
    assert serve.returncode == 2
    message = " ".join(serve.stderr.split())
    assert "built with embedding model 'someone/old-embedder'" in message and "spanqa index rebuild" in message

    rebuild = run_cli(data_dir, "index", "rebuild")
    assert rebuild.returncode == 0, rebuild.stderr
    assert "the index was built with someone/old-embedder" in " ".join(rebuild.stdout.split())
    check = run_cli(data_dir, "index", "check", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["problems"] == [] and report["embedding_model"] == model
    assert report["documents"] == 5 and report["chunks"] == report["vectors"] > 5
