"""Collections through the real API (TestClient, real models): create / list / delete with their
errors, every document, ask, feedback, job and export route under `/collections/{name}`, keys scoped to
collections, per-collection metrics and audit rows."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from index.store import open_key_store
from qa.keys import KeyService
from tests.conftest import seeded_client

OWL = "The Quorrel owl nests only on Mount Vashti. It was described by Lena Marsh in 1911."
FOX = "The Tallis fox hunts along the Brem river. Its den was first mapped by Otto Krall in 1887."


@pytest.fixture(scope="module")
def client(base_settings, embedder, reader, tmp_path_factory) -> Iterator[TestClient]:
    yield from seeded_client(base_settings, embedder, reader, tmp_path_factory.mktemp("collections-data"))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def wait_for_job(client: TestClient, location: str, headers: dict[str, str] | None = None) -> dict:
    deadline = time.monotonic() + 300
    while True:
        job = client.get(location, headers=headers).json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_create_list_and_delete_with_their_errors(client):
    health = client.get("/health").json()
    expected = {"name": "default", "documents": 1, "chunks": health["chunks"]}
    assert client.get("/collections").json() == {"collections": [expected]} and health["chunks"] > 0
    made = client.post("/collections", json={"name": "crud-b"})
    assert made.status_code == 201 and made.json() == {"name": "crud-b", "documents": 0, "chunks": 0}
    assert client.post("/collections", json={"name": "crud-a"}).status_code == 201
    names = [c["name"] for c in client.get("/collections").json()["collections"]]
    assert names == sorted(names) and {"crud-a", "crud-b", "default"} <= set(names)
    again = client.post("/collections", json={"name": "crud-b"})
    assert again.status_code == 409 and "exists" in again.json()["detail"]
    for bad in ("Crud", "-x", "a" * 41, "a/b", "", "ü"):
        refused = client.post("/collections", json={"name": bad})
        assert refused.status_code == 422 and refused.json()["detail"], bad
    assert client.post("/collections", json={}).status_code == 422
    assert client.delete("/collections/default").status_code == 409
    assert client.delete("/collections/no-such").status_code == 404
    assert client.delete("/collections/Bad!").status_code in (404, 422)
    assert client.delete("/collections/crud-b").json() == {"deleted": "crud-b"}
    assert client.delete("/collections/crud-b").status_code == 404
    assert client.get("/collections/crud-b/documents").status_code == 404
    assert client.get("/collections/no-such/documents").json()["detail"] == "no collection 'no-such'"
    assert client.get("/collections/BAD/documents").status_code == 422
    assert client.delete("/collections/crud-a").status_code == 200


def test_every_route_works_under_a_collection_and_leaves_default_alone(client):
    assert client.post("/collections", json={"name": "wild"}).status_code == 201
    base = "/collections/wild"
    added = client.post(f"{base}/documents", json={"id": "owl", "title": "Owls", "text": OWL})
    assert added.status_code == 201 and added.json()["id"] == "owl"
    uploaded = client.post(
        f"{base}/documents", files={"file": ("fox.txt", FOX.encode(), "text/plain")}, data={"id": "fox"}
    )
    assert uploaded.status_code == 201
    listed = client.get(f"{base}/documents").json()
    assert {d["id"] for d in listed["documents"]} == {"owl", "fox"} and listed["total"] == 2
    assert client.get(f"{base}/documents/owl").json()["text"] == OWL
    assert client.get("/documents/owl").status_code == 404  # not in default
    assert {d["id"] for d in client.get("/documents").json()["documents"]} == {"seed"}

    asked = client.post(f"{base}/ask", json={"question": "Who described the Quorrel owl?"}).json()
    best = asked["answers"][0]
    assert best["doc_id"] == "owl" and "Lena Marsh" in best["text"] and OWL[best["start"] : best["end"]] == best["text"]
    assert {p["doc_id"] for p in asked["passages"]} <= {"owl", "fox"}
    on_default = client.post("/ask", json={"question": "Who described the Quorrel owl?"}).json()
    assert all(a["doc_id"] == "seed" for a in on_default["answers"])
    assert all(p["doc_id"] == "seed" for p in on_default["passages"])

    span = {"doc_id": "owl", "start": best["start"], "end": best["end"]}
    given = client.post(f"{base}/feedback", json={"question": "Who?", "answer": span, "verdict": "correct"})
    assert given.status_code == 201
    assert client.get(f"{base}/feedback").json()["total"] == 1
    assert client.get("/feedback").json()["total"] == 0
    refused = client.post("/feedback", json={"question": "Who?", "answer": span, "verdict": "correct"})
    assert refused.status_code == 422  # no document "owl" in default
    export = client.get(f"{base}/feedback/export")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    contexts = [p["context"] for d in export.json()["data"] for p in d["paragraphs"]]
    assert contexts and all("Quorrel" in c for c in contexts)
    assert client.get("/feedback/export").json()["data"] == []

    job = client.post(f"{base}/jobs", files=[("files", ("bat.txt", b"The Hollis bat sleeps in Orvy cave."))])
    assert job.status_code == 202 and job.headers["location"] == f"{base}/jobs/{job.json()['id']}"
    assert wait_for_job(client, job.headers["location"])["status"] == "done"
    assert client.get(f"/jobs/{job.json()['id']}").status_code == 404
    assert [j["id"] for j in client.get(f"{base}/jobs").json()["jobs"]] == [job.json()["id"]]
    assert client.get("/jobs").json()["total"] == 0
    assert client.delete(f"{base}/jobs/{job.json()['id']}").status_code == 409  # ended
    assert client.get(f"{base}/documents").json()["total"] == 3 and client.get("/documents").json()["total"] == 1

    assert client.delete(f"{base}/documents/fox").status_code == 204
    assert client.delete("/documents/owl").status_code == 404
    info = {c["name"]: c for c in client.get("/collections").json()["collections"]}["wild"]
    assert info["documents"] == 2 and info["chunks"] >= 2


def test_keys_see_and_use_only_their_collections(client, tmp_path):
    for name in ("keys-a", "keys-b"):
        assert client.post("/collections", json={"name": name}).status_code == 201
    data_dir = client.app.state.pipeline.settings.data_dir
    service = KeyService(open_key_store(data_dir))
    admin = bearer(service.create("admin", "admin").key)
    try:
        made = client.post(
            "/keys", json={"name": "a-writer", "role": "writer", "collections": ["keys-a"]}, headers=admin
        )
        assert made.status_code == 201 and made.json()["collections"] == ["keys-a"]
        writer = bearer(made.json()["key"])
        unknown = client.post("/keys", json={"name": "x", "role": "reader", "collections": ["nope"]}, headers=admin)
        assert unknown.status_code == 422 and "nope" in unknown.json()["detail"]
        everywhere = client.post("/keys", json={"name": "all", "role": "reader", "collections": ["*"]}, headers=admin)
        assert everywhere.json()["collections"] == ["*"]
        assert client.post("/keys", json={"name": "ad", "role": "admin"}, headers=admin).json()["collections"] == ["*"]
        assert client.post("/keys", json={"name": "r", "role": "reader"}, headers=admin).json()["collections"] == [
            "default"
        ]

        assert [c["name"] for c in client.get("/collections", headers=writer).json()["collections"]] == ["keys-a"]
        everything = [c["name"] for c in client.get("/collections", headers=admin).json()["collections"]]
        assert {"default", "keys-a", "keys-b"} <= set(everything)
        assert (
            client.post("/collections/keys-a/documents", json={"text": OWL, "id": "owl"}, headers=writer).status_code
            == 201
        )
        for path in ("/collections/keys-b/documents", "/documents", "/collections/no-such/documents"):
            refused = client.get(path, headers=writer)
            assert refused.status_code == 403, path
            assert refused.json()["detail"].startswith("this key cannot use collection")
        assert client.post("/collections", json={"name": "by-writer"}, headers=writer).status_code == 403
        assert client.delete("/collections/keys-b", headers=writer).status_code == 403

        audit = client.get("/audit", headers=admin).json()
        assert audit[0]["collection"] == "keys-a" and audit[0]["action"] == "POST /collections/{collection}/documents"
        assert any(e["action"] == "POST /collections" and e["collection"] == "keys-b" for e in audit)

        # deleted, then made again: the old key does not come back with the name
        assert client.delete("/collections/keys-a", headers=admin).status_code == 200
        assert client.get("/collections/keys-a/documents", headers=admin).status_code == 404
        assert client.post("/collections", json={"name": "keys-a"}, headers=admin).status_code == 201
        assert client.get("/collections/keys-a/documents", headers=writer).status_code == 403
        assert client.get("/collections/keys-a/documents", headers=admin).json()["total"] == 0
        listed = {k["name"]: k["collections"] for k in client.get("/keys", headers=admin).json()}
        assert listed["a-writer"] == []
    finally:
        for record in service.list():
            service.revoke(record.id)


def test_metrics_count_documents_and_chunks_per_collection(client):
    assert client.post("/collections", json={"name": "metered"}).status_code == 201
    assert client.post("/collections/metered/documents", json={"text": FOX, "id": "fox"}).status_code == 201
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    documents = {s.labels["collection"]: s.value for s in families["spanqa_documents"].samples}
    chunks = {s.labels["collection"]: s.value for s in families["spanqa_chunks"].samples}
    assert documents["metered"] == 1 and documents["default"] == client.get("/documents").json()["total"]
    assert chunks["metered"] >= 1 and set(chunks) == set(documents)
    requests = families["spanqa_http_requests"].samples
    assert any(s.labels.get("route") == "/collections/{collection}/documents" for s in requests)


def test_the_collection_parameter_is_in_the_openapi_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    operation = paths["/collections/{collection}/ask"]["post"]
    parameter = next(p for p in operation["parameters"] if p["name"] == "collection")
    assert parameter["in"] == "path" and parameter["required"] and parameter["schema"]["pattern"]
    assert "404" in operation["responses"] and "403" in operation["responses"]
    assert {"get", "post"} <= set(paths["/collections"]) and "delete" in paths["/collections/{name}"]
