"""Asking over fake models: validation, filters, checked citations, no-answer, micro-batching."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from errors import InvalidRequest
from qa.asking import passages_to_read, validate_question
from qa.pipeline import NewDocument, Pipeline
from tests.fakes import fake_pipeline

DOCS = {
    "kyiv": ("Kyiv is the capital of Ukraine. The mayor of Kyiv is Vitali Klitschko.", {"team": "east", "year": 2023}),
    "paris": ("Paris is the capital of France. The mayor of Paris is Anne Hidalgo.", {"team": "west", "year": 2024}),
    "tides": ("Tides are caused by the gravity of the moon and the sun.", {"team": "west", "year": 2023}),
}


def ingest_all(pipeline: Pipeline) -> None:
    pipeline.ingest_many([NewDocument(text=t, id=i, metadata=m) for i, (t, m) in DOCS.items()])


def test_questions_are_validated() -> None:
    assert validate_question("  Who?  ", 10) == "Who?"
    with pytest.raises(InvalidRequest):
        validate_question("   ", 10)
    with pytest.raises(InvalidRequest):
        validate_question("x" * 11, 10)


def test_answers_slice_their_documents(pipeline: Pipeline) -> None:
    ingest_all(pipeline)
    result = pipeline.ask("Who is the mayor of Kyiv?")
    assert not result.no_answer and result.answers
    for answer in result.answers:
        text = pipeline.get_document(answer.citation.doc_id).text
        assert text[answer.citation.start : answer.citation.end] == answer.text
    assert result.retrieval == "hybrid" and {"retrieve", "read", "total"} <= set(result.timings_ms)


def test_no_shared_word_means_no_answer(pipeline: Pipeline) -> None:
    ingest_all(pipeline)
    result = pipeline.ask("zyzzyva quokka?")
    assert result.no_answer and result.answers == []
    assert result.best_score is None or result.best_score < pipeline.settings.no_answer_threshold


def test_filters_apply_before_retrieval(pipeline: Pipeline) -> None:
    ingest_all(pipeline)
    question = "What is the capital?"
    by_id = pipeline.ask(question, doc_ids=["paris"])
    assert {p.doc_id for p in by_id.passages} == {"paris"}
    by_meta = pipeline.ask(question, metadata={"team": "west", "year": [2024]})
    assert {p.doc_id for p in by_meta.passages} == {"paris"}
    assert pipeline.ask(question, doc_ids=["kyiv"], metadata={"team": "west"}).passages == []
    with pytest.raises(InvalidRequest):
        pipeline.ask(question, metadata={'bad"key': 1})
    with pytest.raises(InvalidRequest):
        pipeline.ask(question, metadata={"team": {"nested": 1}})


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_every_retrieval_mode_retrieves(pipeline: Pipeline, mode: str) -> None:
    ingest_all(pipeline)
    passages = pipeline.retrieve("tides moon gravity", top_k=2, retrieval=mode)  # type: ignore[arg-type]
    assert passages and passages[0].doc_id == "tides"


def test_passages_to_read_skips_weak_fused_passages(pipeline: Pipeline) -> None:
    ingest_all(pipeline)
    passages = pipeline.retrieve("Who is the mayor of Paris?", top_k=3, retrieval="hybrid")
    kept = passages_to_read(passages, 0.99)
    assert kept[0] == 0 and set(kept) <= set(range(len(passages)))
    assert passages_to_read(passages, 0.0) == list(range(len(passages)))


def test_micro_batched_questions_get_their_own_answers(tmp_path: Path) -> None:
    batched = fake_pipeline(tmp_path / "data", batch_max_questions=8, batch_window_ms=5)
    try:
        ingest_all(batched)
        questions = ["Who is the mayor of Kyiv?", "Who is the mayor of Paris?"] * 4
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(batched.ask, questions))
        alone = [batched.ask(q) for q in questions[:2]]
        for result in results:
            want = alone[0] if "Kyiv" in result.question else alone[1]
            assert [a.text for a in result.answers] == [a.text for a in want.answers]
    finally:
        batched.close()


def test_an_answer_from_a_deleted_document_is_dropped(pipeline: Pipeline) -> None:
    ingest_all(pipeline)
    passages = pipeline.retrieve("Who is the mayor of Kyiv?", top_k=3)
    pipeline.delete("kyiv")
    answers, _, _ = pipeline.read("Who is the mayor of Kyiv?", passages, 3)
    assert all(a.citation.doc_id != "kyiv" for a in answers)
