"""Skipping passages scored far below the best: which are read, and that answers survive it."""

from __future__ import annotations

from qa.answers import Passage
from qa.pipeline import NewDocument, passages_to_read
from tests.api.test_ask import SEED_QUESTIONS
from tests.conftest import SEED_FILE


def passages(*scores: float, key: str = "rrf") -> list[Passage]:
    return [
        Passage(
            chunk_id=i,
            doc_id="d",
            title="t",
            text=f"passage {i}",
            start=0,
            end=9,
            page=None,
            score=s,
            rank=i + 1,
            scores={key: s},
        )
        for i, s in enumerate(scores)
    ]


def test_reads_the_first_and_those_within_the_ratio_of_it():
    assert passages_to_read(passages(0.032, 0.030, 0.0225, 0.016, 0.031), 0.7) == [0, 1, 2, 4]
    assert passages_to_read(passages(0.032, 0.016), 0.7) == [0]


def test_ratio_zero_and_single_passages_read_everything():
    assert passages_to_read(passages(0.9, 0.1, 0.05), 0.0) == [0, 1, 2]
    assert passages_to_read(passages(0.9), 0.7) == [0]
    assert passages_to_read([], 0.7) == []


def test_only_fused_scores_skip_passages():
    # Dense-only or BM25-only scores misjudge too often; reranked passages were chosen already.
    assert passages_to_read(passages(0.6, 0.2, 0.1, key="dense"), 0.7) == [0, 1, 2]
    assert passages_to_read(passages(12.0, 3.0, key="bm25"), 0.7) == [0, 1]
    reranked = passages(0.032, 0.016)
    for p in reranked:
        p.scores["rerank"] = 1.0
    assert passages_to_read(reranked, 0.7) == [0, 1]


def test_seed_questions_still_answered_with_skipping_on_and_off(make_pipeline):
    on = make_pipeline(reader_min_score_ratio=0.7)
    off = make_pipeline(reader_min_score_ratio=0.0)
    for pipeline in (on, off):
        pipeline.ingest(NewDocument(text=SEED_FILE.read_text(encoding="utf-8"), id="seed"))
    for question, expected in SEED_QUESTIONS:
        for pipeline in (on, off):
            result = pipeline.ask(question)
            assert not result.no_answer and expected.lower() in result.answers[0].text.lower(), question
            assert len(result.passages) == min(pipeline.settings.top_k, pipeline.count_chunks())
