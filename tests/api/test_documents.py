"""The /documents routes through the real app: add, list, show, replace, delete, bad input."""

from __future__ import annotations

NEW_DOC = (
    "The Zorbani lighthouse was built in 1887 by the engineer Margit Olsen. "
    "It stands on the northern cape of the island of Vell and its lamp can be seen from 32 kilometres away."
)


def _counts(client):
    h = client.get("/health").json()
    return h["documents"], h["chunks"]


def test_health_reports_counts_and_models(client):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["documents"] >= 1 and h["chunks"] >= 1
    assert h["embedding_model"] and h["reader_model"]


def test_add_ask_replace_delete_json_document(client):
    docs_before, chunks_before = _counts(client)
    r = client.post(
        "/documents", json={"text": NEW_DOC, "title": "Lighthouse", "id": "lighthouse", "metadata": {"kind": "test"}}
    )
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "lighthouse" and r.json()["chunks"] >= 1 and r.json()["status"] == "added"

    again = client.post(
        "/documents", json={"text": NEW_DOC, "title": "Lighthouse", "id": "lighthouse", "metadata": {"kind": "test"}}
    )
    assert again.json()["status"] == "unchanged"

    answer = client.post("/ask", json={"question": "Who built the Zorbani lighthouse?"}).json()["answers"][0]
    assert "Margit Olsen" in answer["text"] and answer["doc_id"] == "lighthouse"

    shown = client.get("/documents/lighthouse").json()
    assert shown["text"] == NEW_DOC and shown["title"] == "Lighthouse" and shown["metadata"] == {"kind": "test"}

    changed = NEW_DOC.replace("Margit Olsen", "Henrik Dahl")
    r = client.post("/documents", json={"text": changed, "title": "Lighthouse", "id": "lighthouse"})
    assert r.json()["status"] == "replaced"
    answer = client.post("/ask", json={"question": "Who built the Zorbani lighthouse?"}).json()["answers"][0]
    assert "Henrik Dahl" in answer["text"]
    assert _counts(client)[0] == docs_before + 1

    assert client.delete("/documents/lighthouse").status_code == 204
    assert client.get("/documents/lighthouse").status_code == 404
    assert _counts(client) == (docs_before, chunks_before)
    ids = [d["id"] for d in client.get("/documents").json()["documents"]]
    assert "lighthouse" not in ids


def test_list_is_paginated(client):
    for i in range(3):
        client.post("/documents", json={"text": f"Page test document number {i} about otters.", "id": f"page-{i}"})
    first = client.get("/documents", params={"limit": 2}).json()
    assert len(first["documents"]) == 2 and first["limit"] == 2 and first["total"] >= 4
    second = client.get("/documents", params={"limit": 2, "offset": 2}).json()
    assert not {d["id"] for d in first["documents"]} & {d["id"] for d in second["documents"]}
    for i in range(3):
        client.delete(f"/documents/page-{i}")


def test_upload_markdown_file(client):
    r = client.post(
        "/documents",
        files={"file": ("notes.md", b"# Notes\n\nThe meeting is on Tuesday in Room 4.", "text/markdown")},
    )
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    assert client.get(f"/documents/{doc_id}").json()["content_type"] == "text/markdown"
    client.delete(f"/documents/{doc_id}")


def test_unknown_document_is_404(client):
    assert client.get("/documents/nope").status_code == 404
    r = client.delete("/documents/nope")
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_bad_uploads_get_4xx_and_change_nothing(client):
    before = _counts(client)
    cases = [
        (("tool.exe", b"MZ\x90\x00binary", "application/octet-stream"), 415),
        (("big.txt", b"word " * 60_000, "text/plain"), 413),
        (("junk.txt", bytes(range(256)) * 50, "text/plain"), 422),
        (("empty.txt", b"", "text/plain"), 422),
    ]
    for file, status in cases:
        r = client.post("/documents", files={"file": file})
        assert r.status_code == status, (file[0], r.status_code, r.text)
        assert r.json()["detail"]
    assert _counts(client) == before


def test_bad_json_documents_get_422(client):
    before = _counts(client)
    assert client.post("/documents", json={"title": "no text"}).status_code == 422
    assert client.post("/documents", json={"text": "   "}).status_code == 422
    r = client.post("/documents", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "json" in r.json()["detail"].lower()
    assert _counts(client) == before


def test_text_in_latin1_is_decoded(client):
    text = "Le café de Zoé ouvre à sept heures. Le propriétaire s'appelle Hélène Marchand."
    r = client.post("/documents", files={"file": ("cafe.txt", text.encode("latin-1"), "text/plain")})
    assert r.status_code == 201, r.text
    assert client.get(f"/documents/{r.json()['id']}").json()["text"] == text
    client.delete(f"/documents/{r.json()['id']}")


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/ask", "/documents", "/documents/{doc_id}", "/health"} <= set(paths)
