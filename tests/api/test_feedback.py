"""/feedback through the real app (real models, the seed document): verdicts on real answers, the
checks against the stored documents, paging, and the SQuAD 2.0 export read back as training data."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seeded_client
from train.data import read_squad

QUESTION = "Who is the US national security adviser?"


@pytest.fixture(scope="module")
def client(base_settings, embedder, reader, tmp_path_factory) -> Iterator[TestClient]:
    """Its own data directory, so the feedback here is all there is."""
    yield from seeded_client(base_settings, embedder, reader, tmp_path_factory.mktemp("feedback-data"))


@pytest.fixture(scope="module")
def seed_text(client) -> str:
    return client.get("/documents/seed").json()["text"]


@pytest.fixture(scope="module")
def answer(client) -> dict:
    return client.post("/ask", json={"question": QUESTION}).json()["answers"][0]


def span_of(seed_text: str, words: str) -> dict:
    start = seed_text.index(words)
    return {"doc_id": "seed", "start": start, "end": start + len(words)}


def post(client, **body) -> dict:
    response = client.post("/feedback", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_feedback_on_a_real_answer_is_stored_with_its_text_and_window(client, answer, seed_text):
    cited = {"doc_id": answer["doc_id"], "start": answer["start"], "end": answer["end"]}
    record = post(client, question=QUESTION, answer=cited, verdict="correct")
    assert record["id"] >= 1 and record["verdict"] == "correct" and record["correction"] is None
    got = record["answer"]
    assert got["text"] == answer["text"] == seed_text[got["start"] : got["end"]]
    assert seed_text[got["context_start"] :].startswith(got["context"])
    assert got["context"][got["start"] - got["context_start"] :].startswith(got["text"])
    assert 300 <= len(got["context"]) <= len(got["text"]) + 600
    assert client.get("/feedback?limit=1").json()["feedback"][0] == record


def test_wrong_answers_with_each_kind_of_correction(client, seed_text):
    wrong = span_of(seed_text, "Jake Sullivan")
    right = span_of(seed_text, "Joe Biden")
    fixed = post(client, question="Who authorized the delivery?", answer=wrong, verdict="wrong", correction=right)
    assert fixed["correction"]["text"] == "Joe Biden" and fixed["answer"]["text"] == "Jake Sullivan"
    none = post(
        client, question="What colour is the sky?", answer=wrong, verdict="wrong", correction={"no_answer": True}
    )
    assert none["correction"] == {"no_answer": True}
    missed = post(client, question="Who authorized the delivery?", answer=None, verdict="wrong", correction=right)
    assert missed["answer"] is None and missed["correction"]["text"] == "Joe Biden"
    bare = post(client, question="Who is it?", answer=wrong, verdict="wrong")
    assert bare["correction"] is None


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"answer": {"doc_id": "no-such-doc", "start": 0, "end": 4}}, "no stored document"),
        ({"answer": {"doc_id": "seed", "start": 0, "end": 10**9}}, "not inside document"),
        ({"answer": {"doc_id": "seed", "start": 5, "end": 5}}, "not inside document"),
        ({"answer": {"doc_id": "seed", "start": 9, "end": 3}}, "not inside document"),
        ({"answer": {"doc_id": "seed", "start": -1, "end": 3}}, "greater than or equal to 0"),
        ({"verdict": "correct", "correction": {"no_answer": True}}, "'wrong' only"),
        ({"answer": None, "correction": {"no_answer": True}}, "contradicts"),
        ({"correction": {"doc_id": "seed", "start": 0, "end": 1500}}, "over 1,000 characters"),
        ({"verdict": "maybe"}, "verdict"),
        ({"question": "   "}, "question"),
        ({"question": "x" * 1001}, "over 1,000 characters"),
        ({"correction": {"no_answer": False}}, "correction"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_feedback_is_refused_with_422_and_nothing_stored(client, seed_text, body, says):
    before = client.get("/feedback").json()["total"]
    base = {"question": "Who?", "answer": span_of(seed_text, "Jake Sullivan"), "verdict": "wrong"}
    response = client.post("/feedback", json={**base, **body})
    assert response.status_code == 422, response.text
    assert says in response.json()["detail"]
    assert client.get("/feedback").json()["total"] == before


def test_white_space_is_no_answer_to_point_at(client, seed_text):
    start = seed_text.index(" ")
    response = client.post(
        "/feedback",
        json={"question": "Who?", "answer": {"doc_id": "seed", "start": start, "end": start + 1}, "verdict": "correct"},
    )
    assert response.status_code == 422 and "white space" in response.json()["detail"]


def test_feedback_pages_newest_first(client, seed_text):
    for n in range(3):
        post(client, question=f"Paging question {n}?", answer=span_of(seed_text, "Ukraine"), verdict="correct")
    everything = client.get("/feedback?limit=500").json()
    total = everything["total"]
    assert total == len(everything["feedback"]) >= 3
    assert [f["question"] for f in everything["feedback"][:3]] == [f"Paging question {n}?" for n in (2, 1, 0)]
    ids = [f["id"] for f in everything["feedback"]]
    assert ids == sorted(ids, reverse=True)
    page = client.get("/feedback?offset=1&limit=2").json()
    assert page["feedback"] == everything["feedback"][1:3]
    assert (page["total"], page["offset"], page["limit"]) == (total, 1, 2)
    assert client.get(f"/feedback?offset={total}").json()["feedback"] == []
    assert client.get("/feedback?limit=0").status_code == 422


def test_export_is_squad_2_whose_answers_slice_their_contexts(client, seed_text, tmp_path):
    post(client, question="What did the US send?", answer=span_of(seed_text, "cluster munitions"), verdict="correct")
    response = client.get("/feedback/export")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    export = response.json()
    assert export["version"] == "v2.0" and [a["title"] for a in export["data"]] == ["seed"]
    records = {f"feedback-{f['id']}": f for f in client.get("/feedback?limit=500").json()["feedback"]}
    summary = export["summary"]
    assert summary["feedback"] == len(records) == summary["exported"] + summary["skipped"]
    assert summary["skipped_by_reason"] == {"verdict 'wrong' without a correction": 1}
    questions = {}
    for paragraph in export["data"][0]["paragraphs"]:
        context = paragraph["context"]
        assert context in seed_text
        for qa in paragraph["qas"]:
            questions[qa["id"]] = qa
            for answer in qa["answers"] + qa.get("plausible_answers", []):
                assert context[answer["answer_start"] :].startswith(answer["text"])
            record = records[qa["id"]]
            assert qa["question"] == record["question"]
            if qa["is_impossible"]:
                assert qa["answers"] == [] and record["correction"] == {"no_answer": True}
                assert record["answer"]["context"] == context
            else:
                gold = record["correction"] if record["verdict"] == "wrong" else record["answer"]
                assert [a["text"] for a in qa["answers"]] == [gold["text"]] and gold["context"] == context
    assert summary["unanswerable"] == 1 and len(questions) == summary["exported"]

    path = tmp_path / "export.json"
    path.write_text(response.text, encoding="utf-8")
    read = read_squad(path)  # as `spanqa train-reader` and `spanqa reader promote --feedback` read it
    assert read.bad == [] and len(read.questions) == summary["exported"]
    assert sum(not q.is_answerable for q in read.questions) == 1


def test_export_keeps_what_was_said_after_the_document_changes(client, seed_text):
    client.post("/documents", json={"id": "note", "text": "The pier was rebuilt in 1931 by Hanna Berg."})
    words = "Hanna Berg"
    span = {"doc_id": "note", "start": 32, "end": 42}
    post(client, question="Who rebuilt the pier?", answer=span, verdict="correct")
    client.delete("/documents/note")
    export = json.loads(client.get("/feedback/export").text)
    note = next(a for a in export["data"] if a["title"] == "note")
    paragraph = note["paragraphs"][0]
    assert paragraph["context"] == "The pier was rebuilt in 1931 by Hanna Berg."
    assert paragraph["qas"][0]["answers"] == [{"text": words, "answer_start": 32}]
