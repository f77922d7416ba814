"""Collections on PostgreSQL across two API replicas (real server, real models, real app): a collection
created through one replica is usable through the other at once; deleted through one, it is a 404 (not
a 500) through the other, and made again it starts empty on both."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from qa.pipeline import Pipeline

TEXT = "The Ardent bell of Selwick was cast by Nora Pike in 1702. It weighs two tonnes."


@pytest.fixture
def replicas(postgres_url, base_settings, embedder, reader, tmp_path):
    settings = base_settings.model_copy(
        update={"data_dir": tmp_path, "database_url": postgres_url, "database_pool_size": 3}
    )
    with ExitStack() as stack:
        clients = []
        for _ in range(2):
            pipeline = Pipeline(settings, embedder, reader)
            stack.callback(pipeline.close)
            clients.append(stack.enter_context(TestClient(create_app(settings, pipeline=pipeline))))
        yield clients


def test_a_collection_made_on_one_replica_is_used_and_deleted_across_both(replicas):
    a, b = replicas
    assert a.post("/collections", json={"name": "bells"}).status_code == 201
    assert [c["name"] for c in b.get("/collections").json()["collections"]] == ["bells", "default"]
    added = b.post("/collections/bells/documents", json={"id": "bell", "text": TEXT})
    assert added.status_code == 201
    asked = a.post("/collections/bells/ask", json={"question": "Who cast the Ardent bell?"}).json()
    assert asked["answers"][0]["doc_id"] == "bell" and "Nora Pike" in asked["answers"][0]["text"]
    assert a.get("/documents/bell").status_code == 404  # default holds nothing of it
    assert b.post("/ask", json={"question": "Who cast the Ardent bell?"}).json()["answers"] == []

    assert a.delete("/collections/bells").json() == {"deleted": "bells"}
    for response in (
        b.get("/collections/bells/documents"),
        b.post("/collections/bells/ask", json={"question": "Who cast the Ardent bell?"}),
        b.get("/collections/bells/documents/bell"),
        b.get("/collections/bells/jobs"),
        b.delete("/collections/bells"),
    ):
        assert response.status_code == 404, response.text
    assert [c["name"] for c in b.get("/collections").json()["collections"]] == ["default"]

    assert b.post("/collections", json={"name": "bells"}).status_code == 201  # made again: empty on both
    for client in (a, b):
        assert client.get("/collections/bells/documents").json()["total"] == 0
    assert a.get("/documents").json()["total"] == 0

    # deleted and made again behind a replica's back: it finds the new, empty collection, not the old one
    assert a.post("/collections/bells/documents", json={"id": "bell", "text": TEXT}).status_code == 201
    assert b.get("/collections/bells/documents").json()["total"] == 1
    assert a.delete("/collections/bells").status_code == 200
    assert a.post("/collections", json={"name": "bells"}).status_code == 201
    assert b.get("/collections/bells/documents").json()["total"] == 0
    assert b.post("/collections/bells/documents", json={"id": "other", "text": TEXT}).status_code == 201
    assert [d["id"] for d in a.get("/collections/bells/documents").json()["documents"]] == ["other"]
