"""The HTTP routes over a Pipeline built with fakes (TestClient): status codes, bodies, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from qa.pipeline import Pipeline

TEXT = "Kyiv is the capital of Ukraine. The mayor of Kyiv is Vitali Klitschko."


@pytest.fixture
def client(pipeline: Pipeline) -> Iterator[TestClient]:
    with TestClient(create_app(pipeline.settings, pipeline=pipeline)) as c:
        yield c


def test_documents_crud(client: TestClient) -> None:
    added = client.post("/documents", json={"text": TEXT, "title": "Kyiv", "id": "kyiv", "metadata": {"a": 1}})
    assert added.status_code == 201 and added.json()["status"] == "added"
    again = client.post("/documents", json={"text": TEXT, "title": "Kyiv", "id": "kyiv", "metadata": {"a": 1}})
    assert again.json()["status"] == "unchanged"
    uploaded = client.post("/documents", files={"file": ("notes.md", b"# Notes\n\nThe river is the Dnipro.\n")})
    assert uploaded.status_code == 201, uploaded.text
    listed = client.get("/documents").json()
    assert listed["total"] == 2 and {d["id"] for d in listed["documents"]} == {"kyiv", uploaded.json()["id"]}
    shown = client.get("/documents/kyiv").json()
    assert shown["text"] == TEXT and shown["metadata"] == {"a": 1}
    assert client.delete("/documents/kyiv").status_code == 204
    assert client.get("/documents/kyiv").status_code == 404
    assert client.delete("/documents/kyiv").json()["detail"]


def test_ask_returns_cited_answers(client: TestClient) -> None:
    client.post("/documents", json={"text": TEXT, "id": "kyiv"})
    body = client.post("/ask", json={"question": "Who is the mayor of Kyiv?", "max_answers": 2}).json()
    assert body["answers"] and len(body["answers"]) <= 2
    for answer in body["answers"]:
        assert TEXT[answer["start"] : answer["end"]] == answer["text"]
    filtered = client.post("/ask", json={"question": "Who is the mayor?", "filters": {"doc_ids": ["none"]}}).json()
    assert filtered["answers"] == [] and filtered["no_answer"] is True


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/ask", {"json": {"question": "  "}}, 422),
        ("post", "/ask", {"json": {"question": "Who?", "top_k": 0}}, 422),
        ("post", "/ask", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
        ("post", "/documents", {"json": {"text": ""}}, 422),
        ("post", "/documents", {"content": b"{oops", "headers": {"content-type": "application/json"}}, 422),
        ("post", "/documents", {"files": {"file": ("a.exe", b"\x00\x01")}}, 415),
        ("post", "/documents", {"files": {"other": ("a.txt", b"text")}}, 422),
        ("get", "/documents/missing", {}, 404),
    ],
)
def test_bad_requests_get_a_4xx_with_a_detail(
    client: TestClient, method: str, path: str, kwargs: dict, status: int
) -> None:
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_health_names_the_models(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["embedding_model"] == "fake/hash-bag" and body["documents"] == 0
