"""Randomized isolation: several collections holding random documents under the same ids, and many random
questions, listings, filters, feedback and job reads through keys scoped to one collection each. Nothing
of another collection ever comes back: no document id that is not its own, no passage, answer or
citation that is not a slice of its own version of a document, no feedback or job of another.

Real app, real embedder and reader; the seed is fixed (the test is repeatable) and printed on failure."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from index.store import open_key_store
from qa.keys import KeyService
from tests.conftest import seeded_client

SEED = 1604
COLLECTIONS = ("north", "south", "east")
SHARED_IDS = [f"doc-{i}" for i in range(5)]  # every collection uses some of the same ids
PEOPLE = ["Ilse Varga", "Tomas Reed", "Anouk Berg", "Pavel Ostrow", "Mina Solberg", "Edda Krane", "Rui Campos"]
PEOPLE += ["Hana Okafor", "Lars Wendt", "Sofia Lind", "Jonas Eke", "Maren Holt", "Otis Brandt", "Vera Nyquist"]
THINGS = ["lighthouse", "observatory", "bridge", "library", "windmill", "aqueduct", "clock tower", "museum", "dam"]
PLACES = ["Kessa", "Morvin", "Tallow", "Brisk", "Evenholm", "Dunmore", "Carvel", "Ostrand", "Pellin", "Quarry"]


@dataclass
class Collection:
    name: str
    key: dict[str, str]
    documents: dict[str, str] = field(default_factory=dict)  # id -> text
    facts: list[tuple[str, str]] = field(default_factory=list)  # (question, doc id)
    jobs: set[str] = field(default_factory=set)
    questions_given: set[str] = field(default_factory=set)

    def owns_span(self, doc_id: str, start: int, end: int, text: str) -> bool:
        return doc_id in self.documents and self.documents[doc_id][start:end] == text


def random_documents(rng: random.Random, name: str, count: int) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """`count` documents of invented facts, each naming its collection's own people and places."""
    ids = rng.sample(SHARED_IDS, count)
    documents, facts = {}, []
    for doc_id in ids:
        person, thing, place = rng.choice(PEOPLE), rng.choice(THINGS), rng.choice(PLACES)
        year = rng.randint(1700, 1990)
        text = (
            f"The {thing} of {place} was built by {person} of the {name} guild in {year}. "
            f"Its keeper in the {name} records is {rng.choice(PEOPLE)}, and it stands {rng.randint(3, 90)} metres tall."
        )
        documents[doc_id] = text
        facts.append((f"Who built the {thing} of {place}?", doc_id))
    return documents, facts


@pytest.fixture(scope="module")
def world(base_settings, embedder, reader, tmp_path_factory) -> Iterator[tuple[TestClient, dict[str, Collection]]]:
    data_dir = tmp_path_factory.mktemp("isolation-data")
    rng = random.Random(SEED)
    for client in seeded_client(base_settings, embedder, reader, data_dir):
        service = KeyService(open_key_store(data_dir))
        world: dict[str, Collection] = {}
        for name in COLLECTIONS:
            assert client.post("/collections", json={"name": name}).status_code == 201
        admin = f"Bearer {service.create('admin', 'admin').key}"  # from here on, every request needs a key
        for name in COLLECTIONS:
            keys = {role: service.create(f"{name} {role}", role, [name]).key for role in ("reader", "writer")}
            world[name] = Collection(name, {role: f"Bearer {key}" for role, key in keys.items()})
            world[name].documents, world[name].facts = random_documents(rng, name, rng.randint(3, 5))
            for doc_id, text in world[name].documents.items():
                body = {"id": doc_id, "title": f"{name} {doc_id}", "text": text, "metadata": {"origin": name}}
                added = client.post(
                    f"/collections/{name}/documents", json=body, headers={"Authorization": f"Bearer {keys['writer']}"}
                )
                assert added.status_code == 201, added.text
        world["default"] = Collection("default", {"admin": admin})
        yield client, world


def check_answer(result: dict, own: Collection, context: str) -> None:
    for passage in result["passages"]:
        assert own.owns_span(passage["doc_id"], passage["start"], passage["end"], passage["text"]), context
    for answer in result["answers"]:
        assert own.owns_span(answer["doc_id"], answer["start"], answer["end"], answer["text"]), context
        for citation in answer["citations"]:
            assert own.owns_span(citation["doc_id"], citation["start"], citation["end"], citation["text"]), context
        window = answer["passage"]
        assert own.owns_span(answer["doc_id"], window["start"], window["end"], window["text"]), context


def test_nothing_crosses_collections_under_random_use(world):
    client, collections = world
    rng = random.Random(SEED + 1)
    scoped = [collections[name] for name in COLLECTIONS]
    all_facts = [(question, c.name) for c in scoped for question, _ in c.facts]
    steps = []
    for step in range(60):
        own = rng.choice(scoped)
        headers = {"Authorization": own.key[rng.choice(["reader", "writer"])]}
        writer = {"Authorization": own.key["writer"]}
        base = f"/collections/{own.name}"
        action = rng.choice(["ask", "ask", "ask", "list", "read", "filter", "feedback", "job", "other"])
        context = f"seed {SEED}, step {step}: {action} in {own.name}"
        steps.append(context)
        if action == "ask":
            question, _ = rng.choice(all_facts)  # often another collection's question
            body = {"question": question, "retrieval": rng.choice(["dense", "bm25", "hybrid"])}
            asked = client.post(f"{base}/ask", json=body, headers=headers)
            assert asked.status_code == 200, context
            check_answer(asked.json(), own, context)
        elif action == "list":
            offset, limit = rng.randint(0, 3), rng.randint(1, 6)
            listed = client.get(f"{base}/documents?offset={offset}&limit={limit}", headers=headers).json()
            assert listed["total"] == len(own.documents), context
            assert {d["id"] for d in listed["documents"]} <= set(own.documents), context
            assert all(d["metadata"].get("origin") == own.name for d in listed["documents"]), context
        elif action == "read":
            doc_id = rng.choice(SHARED_IDS + ["seed"])
            got = client.get(f"{base}/documents/{doc_id}", headers=headers)
            if doc_id in own.documents:
                assert got.status_code == 200 and got.json()["text"] == own.documents[doc_id], context
            else:
                assert got.status_code == 404, context
        elif action == "filter":
            other = rng.choice([c for c in scoped if c is not own])
            question, _ = rng.choice(other.facts)
            filters = rng.choice(
                [
                    {"doc_ids": sorted(set(other.documents) - set(own.documents)) or ["nothing"]},
                    {"metadata": {"origin": other.name}},
                ]
            )
            asked = client.post(f"{base}/ask", json={"question": question, "filters": filters}, headers=headers)
            assert asked.status_code == 200, context
            assert asked.json()["answers"] == [] and asked.json()["passages"] == [], context
            mine = client.post(
                f"{base}/ask",
                json={"question": question, "filters": {"metadata": {"origin": own.name}}},
                headers=headers,
            )
            check_answer(mine.json(), own, context)
        elif action == "feedback":
            doc_id = rng.choice(sorted(own.documents))
            question = f"{own.name} question {step}"
            span = {"doc_id": doc_id, "start": 0, "end": 3}
            given = client.post(
                f"{base}/feedback", json={"question": question, "answer": span, "verdict": "correct"}, headers=writer
            )
            assert given.status_code == 201, context
            own.questions_given.add(question)
            listed = client.get(f"{base}/feedback?limit=500", headers=headers).json()
            assert {f["question"] for f in listed["feedback"]} == own.questions_given, context
            export = client.get(f"{base}/feedback/export", headers=headers).json()
            contexts = [p["context"] for d in export["data"] for p in d["paragraphs"]]
            assert all(any(c in text for text in own.documents.values()) for c in contexts), context
        elif action == "job":
            text = f"The {own.name} ledger of step {step} lists {rng.choice(PEOPLE)} as its clerk."
            files = [("files", (f"ledger-{step}.txt", text.encode()))]
            metadata = json.dumps({"origin": own.name})
            job = client.post(f"{base}/jobs", files=files, data={"metadata": metadata}, headers=writer)
            assert job.status_code == 202, context
            own.jobs.add(job.json()["id"])
            deadline = time.monotonic() + 120
            while client.get(job.headers["location"], headers=headers).json()["status"] in ("queued", "running"):
                assert time.monotonic() < deadline, context
                time.sleep(0.1)
            stored = client.get(job.headers["location"], headers=headers).json()["documents"][0]["id"]
            own.documents[stored] = client.get(f"{base}/documents/{stored}", headers=headers).json()["text"]
            listed = client.get(f"{base}/jobs?limit=500", headers=headers).json()
            assert {j["id"] for j in listed["jobs"]} == own.jobs, context
            for other in scoped:
                if other is not own:
                    assert (
                        client.get(
                            f"/collections/{other.name}/jobs/{job.json()['id']}",
                            headers={"Authorization": other.key["reader"]},
                        ).status_code
                        == 404
                    )
        else:  # this key on any other collection, or on default: refused, and nothing is said about it
            target = rng.choice([c.name for c in scoped if c is not own])
            for path in (f"/collections/{target}/documents", "/documents", f"/collections/{target}/feedback"):
                refused = client.get(path, headers=headers)
                assert refused.status_code == 403 and "this key cannot use collection" in refused.json()["detail"]
            assert (
                client.post(f"/collections/{target}/ask", json={"question": "Who?"}, headers=headers).status_code == 403
            )
            names = [c["name"] for c in client.get("/collections", headers=headers).json()["collections"]]
            assert names == [own.name], context
    actions = {s.split(": ")[1].split(" ")[0] for s in steps}
    assert {"ask", "list", "read", "filter", "feedback", "job", "other"} <= actions, json.dumps(steps)
    # the default collection holds only what it held before: the seed
    admin = {"Authorization": collections["default"].key["admin"]}
    assert [d["id"] for d in client.get("/documents", headers=admin).json()["documents"]] == ["seed"]
