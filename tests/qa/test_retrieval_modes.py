"""Retrieval modes: dense, BM25 and hybrid (reciprocal rank fusion), with and without reranking,
on real models and real text, through the pipeline and through the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from errors import InvalidRequest
from qa.retriever import reciprocal_rank_fusion
from tests.api.test_ask import SEED_QUESTIONS
from tests.conftest import seeded_client
from tests.fixtures.apps import pipeline_over

MODES = [("dense", False), ("bm25", False), ("hybrid", False), ("hybrid", True)]

# A chunk only BM25 finds: a made-up shelf mark appended to a paragraph about something else
# (the question's meaning matches nothing; its one rare token matches exactly).
RARE_TOKEN_QUESTION = "Which record has shelf mark QZX4471?"
RARE_TOKEN_SENTENCE = " The archive keeps this record under shelf mark QZX4471."
# A chunk only dense retrieval finds: after stemming and stop words, no word in common.
PARAPHRASE_QUESTION = "What medicine did the doctor give the kid?"
PARAPHRASE_TEXT = "The physician prescribed antibiotics to the youngster to clear up the infection."


def test_reciprocal_rank_fusion_sums_one_over_k_plus_rank():
    fused = dict(reciprocal_rank_fusion([[1, 2, 3], [3, 4]], k=5))
    assert fused == pytest.approx({1: 1 / 6, 2: 1 / 7, 3: 1 / 8 + 1 / 6, 4: 1 / 7})
    assert [i for i, _ in reciprocal_rank_fusion([[1, 2, 3], [3, 4]], k=5)] == [3, 1, 2, 4]
    # Ties keep first-seen order; an empty ranking changes nothing.
    assert [i for i, _ in reciprocal_rank_fusion([[7], [8], []], k=60)] == [7, 8]


@pytest.fixture(scope="module")
def corpus_pipeline(base_settings, embedder, reader, squad_contexts, tmp_path_factory):
    """60 SQuAD paragraphs plus the two target documents, indexed once for the module."""
    from qa.pipeline import NewDocument

    data_dir = tmp_path_factory.mktemp("modes-data")
    settings = base_settings.model_copy(update={"data_dir": data_dir})
    pipeline = pipeline_over(settings, embedder, reader)
    docs = [NewDocument(text=text, id=f"ctx-{i}") for i, text in enumerate(squad_contexts[:60])]
    docs.append(NewDocument(text=squad_contexts[60] + RARE_TOKEN_SENTENCE, id="rare"))
    docs.append(NewDocument(text=PARAPHRASE_TEXT, id="paraphrase"))
    pipeline.ingest_many(docs)
    yield pipeline
    pipeline.close()


def doc_ids(pipeline, question: str, mode: str, top_k: int = 5) -> list[str]:
    return [p.doc_id for p in pipeline.retrieve(question, top_k=top_k, retrieval=mode)]


def test_hybrid_finds_a_chunk_only_bm25_finds(corpus_pipeline):
    assert doc_ids(corpus_pipeline, RARE_TOKEN_QUESTION, "bm25")[0] == "rare"
    assert "rare" not in doc_ids(corpus_pipeline, RARE_TOKEN_QUESTION, "dense")
    assert "rare" in doc_ids(corpus_pipeline, RARE_TOKEN_QUESTION, "hybrid")


def test_hybrid_finds_a_chunk_only_dense_finds(corpus_pipeline):
    assert doc_ids(corpus_pipeline, PARAPHRASE_QUESTION, "dense")[0] == "paraphrase"
    assert "paraphrase" not in doc_ids(corpus_pipeline, PARAPHRASE_QUESTION, "bm25", top_k=50)
    assert "paraphrase" in doc_ids(corpus_pipeline, PARAPHRASE_QUESTION, "hybrid")


def test_hybrid_passages_carry_both_scores_and_their_ranks(corpus_pipeline):
    passages = corpus_pipeline.retrieve(RARE_TOKEN_QUESTION, top_k=5, retrieval="hybrid")
    assert [p.rank for p in passages] == [1, 2, 3, 4, 5]
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        assert set(p.scores) == {"dense", "bm25", "rrf"}
        assert p.score == p.scores["rrf"]
        assert p.ranks["fused"] == p.rank
        expected = sum(1 / (corpus_pipeline.settings.rrf_k + p.ranks[r]) for r in ("dense", "bm25") if r in p.ranks)
        assert p.scores["rrf"] == pytest.approx(expected)
    rare = next(p for p in passages if p.doc_id == "rare")
    assert rare.ranks["bm25"] == 1 and rare.scores["bm25"] > 0
    assert -1.0 <= rare.scores["dense"] <= 1.0  # filled in although dense did not rank it first


def test_doc_ids_filter_applies_to_every_mode(corpus_pipeline):
    for mode in ("dense", "bm25", "hybrid"):
        passages = corpus_pipeline.retrieve(RARE_TOKEN_QUESTION, top_k=5, doc_ids={"ctx-3", "rare"}, retrieval=mode)
        assert passages and {p.doc_id for p in passages} <= {"ctx-3", "rare"}


def test_an_unknown_mode_is_refused(corpus_pipeline):
    with pytest.raises(InvalidRequest, match="retrieval mode"):
        corpus_pipeline.retrieve("Who?", retrieval="sparse")  # type: ignore[arg-type]


# ---- through the HTTP API -------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(base_settings, embedder, reader, tmp_path_factory) -> Iterator[TestClient]:
    """The real app over a fresh data directory holding the seed document."""
    yield from seeded_client(base_settings, embedder, reader, tmp_path_factory.mktemp("modes-api-data"))


EXPECTED_SCORES = {
    ("dense", False): {"dense"},
    ("bm25", False): {"bm25"},
    ("hybrid", False): {"dense", "bm25", "rrf"},
    ("hybrid", True): {"dense", "bm25", "rrf", "rerank"},
}


@pytest.mark.parametrize("mode,rerank", MODES)
def test_each_mode_answers_the_seed_questions_through_the_api(client, mode, rerank):
    wrong = []
    for question, expected in SEED_QUESTIONS:
        r = client.post("/ask", json={"question": question, "retrieval": mode, "rerank": rerank})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["retrieval"] == mode and body["reranked"] is rerank
        if body["no_answer"] or expected.lower() not in body["answers"][0]["text"].lower():
            wrong.append((question, body["answers"][0]["text"] if body["answers"] else None))
            continue
        top = body["answers"][0]
        passage = top["passage"]
        assert passage["text"][passage["answer_start"] : passage["answer_end"]] == top["text"]
        for p in body["passages"]:
            assert set(p["scores"]) == EXPECTED_SCORES[(mode, rerank)]
            assert p["score"] == p["scores"]["rerank" if rerank else {"hybrid": "rrf"}.get(mode, mode)]
            if mode == "hybrid":
                assert p["ranks"]["fused"] >= 1
        if rerank:
            assert "rerank" in body["timings_ms"]
    assert not wrong, wrong


def test_the_sullivan_question_is_ranked_right_by_bm25_and_the_reranker(client):
    """Dense MiniLM ranks the chunk naming Jake Sullivan low for this question; BM25 and the
    cross-encoder put it first."""
    question = "Who is the US national security adviser?"
    for payload in (
        {"retrieval": "bm25"},
        {"retrieval": "dense", "rerank": True},
        {"retrieval": "hybrid", "rerank": True},
    ):
        body = client.post("/ask", json={"question": question, **payload}).json()
        assert "Jake Sullivan" in body["passages"][0]["text"], payload


@pytest.mark.parametrize("payload", [{"retrieval": "sparse"}, {"retrieval": 3}, {"rerank": "maybe"}])
def test_bad_retrieval_options_get_422(client, payload):
    r = client.post("/ask", json={"question": "Who?", **payload})
    assert r.status_code == 422, r.text


def test_after_reranking_only_passages_near_the_best_logit_are_read():
    from qa.answers import Passage
    from qa.pipeline import passages_to_read

    def passage(i: int, logit: float) -> Passage:
        return Passage(i, "d", "t", "x", 0, 1, None, logit, i + 1, {"rrf": 0.1, "rerank": logit})

    reranked = [passage(0, 6.0), passage(1, 4.5), passage(2, 3.9), passage(3, -8.0)]
    assert passages_to_read(reranked, 0.7, rerank_margin=2.0) == [0, 1]
    assert passages_to_read(reranked, 0.7, rerank_margin=None) == [0, 1, 2, 3]
