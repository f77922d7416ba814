"""Two API replicas on one PostgreSQL database (real models, real HTTP app, real server).

Each replica is its own app with its own pipeline and connection pool, as two `spanqa serve`
processes behind a load balancer would be. Uploads, questions and deletes go through both at
once: no 5xx, every citation slices its document's text, and each document is visible through
the other replica as soon as its POST returns.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from index.store import StoreConfig, open_store
from qa.pipeline import Pipeline

FACTS = [
    (
        "lighthouse",
        "The Zorbani lighthouse was built in 1887 by the engineer Margit Olsen.",
        "Who built the Zorbani lighthouse?",
    ),
    (
        "bridge",
        "The Kelvar bridge over the Ostra river was opened in 1923 by mayor Tomas Brandt.",
        "Who opened the Kelvar bridge?",
    ),
    (
        "valve",
        "The replacement valve for the Hexa pump is part XQ7731B, shipped from Rotterdam.",
        "Which part is the replacement valve for the Hexa pump?",
    ),
    (
        "comet",
        "The comet Velna was first seen in 1744 by the astronomer Ida Strand in Uppsala.",
        "Who first saw the comet Velna?",
    ),
]


@pytest.fixture
def replicas(postgres_url, base_settings, embedder, reader, tmp_path):
    settings = base_settings.model_copy(update={"data_dir": tmp_path})
    with ExitStack() as stack:
        clients = []
        for _ in range(2):
            config = StoreConfig(
                tmp_path, embedder.dimension, embedder.identity, database_url=postgres_url, pool_size=4
            )
            store = open_store(config)
            pipeline = Pipeline(settings, embedder, reader, store)
            stack.callback(pipeline.close)
            clients.append(stack.enter_context(TestClient(create_app(settings, pipeline=pipeline))))
        yield clients


def test_two_replicas_upload_ask_and_delete_at_once(replicas):
    a, b = replicas
    statuses: list[int] = []
    problems: list[str] = []

    def upload_then_check(doc_id: str, text: str, question: str) -> None:
        created = a.post("/documents", json={"id": doc_id, "title": doc_id, "text": text})
        statuses.append(created.status_code)
        seen = b.get(f"/documents/{doc_id}")  # at once, through the other replica
        statuses.append(seen.status_code)
        if seen.status_code != 200 or seen.json()["text"] != text:
            problems.append(f"{doc_id} not visible through the other replica")
        for client in (b, a):
            asked = client.post("/ask", json={"question": question})
            statuses.append(asked.status_code)
            answers = asked.json().get("answers", []) if asked.status_code == 200 else []
            for answer in answers:
                document = client.get(f"/documents/{answer['doc_id']}")
                if (
                    document.status_code == 200
                    and document.json()["text"][answer["start"] : answer["end"]] != answer["text"]
                ):
                    problems.append(f"citation of {answer['text']!r} does not slice its document")

    threads = [threading.Thread(target=upload_then_check, args=fact) for fact in FACTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert problems == [] and statuses and all(s < 500 for s in statuses), statuses
    assert {d["id"] for d in a.get("/documents?limit=50").json()["documents"]} >= {f[0] for f in FACTS}

    answer = b.post("/ask", json={"question": "Who built the Zorbani lighthouse?"}).json()["answers"][0]
    assert answer["doc_id"] == "lighthouse" and "Margit Olsen" in answer["text"]
    assert b.delete("/documents/lighthouse").status_code == 204
    assert a.get("/documents/lighthouse").status_code == 404
    after = a.post("/ask", json={"question": "Who built the Zorbani lighthouse?"}).json()
    assert all(ans["doc_id"] != "lighthouse" for ans in after["answers"])
