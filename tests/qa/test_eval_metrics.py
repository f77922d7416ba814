"""SQuAD metrics against hand-worked examples."""

from __future__ import annotations

import math

import pytest

from qa.eval.metrics import (
    answer_tokens,
    apply_null_threshold,
    best_null_threshold,
    exact_match,
    f1,
    first_hit_rank,
    has_answer,
    mean_reciprocal_rank,
    no_answer_stats,
    normalize_answer,
    percentile,
    recall_at_k,
    squad2_scores,
    threshold_curve,
)


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("The Eiffel Tower", "eiffel tower"),  # article at the start
        ("an apple a day", "apple day"),  # a / an
        ("Theatre of the Absurd", "theatre of absurd"),  # "the" only as a word, not in "Theatre"
        ("U.S.A.", "usa"),  # punctuation removed, not replaced by spaces
        ("  lots \t of\n space  ", "lots of space"),
        ("Hello, World!", "hello world"),
        ("rock-'n'-roll", "rocknroll"),
        ("", ""),
        ("The", ""),  # nothing left
    ],
)
def test_normalize_answer(text: str, normalized: str) -> None:
    assert normalize_answer(text) == normalized


def test_exact_match_normalizes_and_takes_any_gold() -> None:
    assert exact_match("the Normans", ["Normans"]) == 1.0
    assert exact_match("Normans.", ["Vikings", "normans"]) == 1.0
    assert exact_match("Norman", ["Normans"]) == 0.0


def test_f1_hand_worked() -> None:
    # pred [cat, sat], gold [cat]: precision 1/2, recall 1 -> 2/3
    assert f1("the cat sat", ["a cat"]) == pytest.approx(2 / 3)
    # pred [10th, century], gold [10th, and, 11th, centuries]: one common token,
    # precision 1/2, recall 1/4 -> 2 * 1/8 / (3/4) = 1/3
    assert f1("10th century", ["10th and 11th centuries"]) == pytest.approx(1 / 3)
    # max over golds: second gold matches fully
    assert f1("in the 10th and 11th centuries", ["10th and 11th centuries", "in the 10th and 11th centuries"]) == 1.0
    # repeated tokens count with multiplicity: pred [a.. ] -> [new, new, york], gold [new, york]
    # common = min counts: new 1, york 1 = 2; precision 2/3, recall 1 -> 0.8
    assert f1("new new york", ["New York"]) == pytest.approx(0.8)
    assert f1("Paris", ["London"]) == 0.0


def test_unanswerable_questions_want_the_empty_prediction() -> None:
    assert exact_match("", []) == 1.0
    assert f1("", []) == 1.0
    assert exact_match("Paris", []) == 0.0
    assert f1("Paris", []) == 0.0
    # an answerable question answered "" scores 0
    assert exact_match("", ["Paris"]) == 0.0
    assert f1("", ["Paris"]) == 0.0
    # a gold that normalizes to nothing counts as no answer (official script)
    assert has_answer(["the"]) is False
    assert has_answer([]) is False
    assert has_answer(["Paris"]) is True
    assert answer_tokens("") == []


def test_squad2_scores_split_by_answerability() -> None:
    golds = {"a": ["Paris"], "b": ["new york city"], "c": [], "d": []}
    preds = {"a": "Paris", "b": "new york", "c": "", "d": "Rome"}
    s = squad2_scores(preds, golds)
    # EM: a 1, b 0, c 1, d 0; F1: a 1, b 0.8, c 1, d 0
    assert s.total == 4
    assert s.exact == pytest.approx(50.0)
    assert s.f1 == pytest.approx(100 * 2.8 / 4)
    assert (s.has_answer_total, s.no_answer_total) == (2, 2)
    assert s.has_answer_exact == pytest.approx(50.0)
    assert s.has_answer_f1 == pytest.approx(90.0)
    assert s.no_answer_exact == pytest.approx(50.0)
    # a missing prediction counts as "no answer"
    assert squad2_scores({}, {"c": []}).exact == 100.0
    # with a threshold: d scores below it and becomes "" -> right
    t = squad2_scores(preds, golds, {"a": 9.0, "b": 8.0, "c": 0.0, "d": -1.0}, threshold=2.0)
    assert t.exact == pytest.approx(75.0)
    assert squad2_scores(preds, {"a": ["Paris"]}).no_answer_exact is None


def test_apply_null_threshold() -> None:
    out = apply_null_threshold({"a": "x", "b": "y", "c": "z", "d": "w"}, {"a": 3.0, "b": 1.0, "c": math.nan}, 2.0)
    assert out == {"a": "x", "b": "", "c": "", "d": ""}
    assert apply_null_threshold({"a": "x"}, {"a": 2.0}, 2.0) == {"a": "x"}  # at the threshold: answered


def test_best_null_threshold_hand_worked() -> None:
    golds = {"q1": ["Paris"], "q2": ["Rome"], "q3": [], "q4": [], "q5": ["Oslo"]}
    preds = {"q1": "Paris", "q2": "Rome", "q3": "Berlin", "q4": "Madrid", "q5": "Bergen"}
    scores = {"q1": 9.0, "q2": 5.0, "q3": 4.0, "q4": 1.0, "q5": 0.5}
    # thresholds (answer when score >= t): everything answered -> 2/5 right;
    # nulling q5 (0.5) -> 2/5; + q4 (1.0) -> 3/5; + q3 (4.0) -> 4/5 (best); + q2 -> 3/5; + q1 -> 2/5
    best = best_null_threshold(preds, golds, scores)
    assert best.exact == pytest.approx(80.0)
    assert best.f1 == pytest.approx(80.0)
    assert best.threshold == pytest.approx(4.5)  # midway between 4.0 (nulled) and 5.0 (kept)
    # applying it reproduces the score
    assert squad2_scores(preds, golds, scores, best.threshold).f1 == pytest.approx(best.f1)


def test_best_null_threshold_when_answering_everything_is_best() -> None:
    golds = {"q1": ["Paris"], "q2": ["Rome"]}
    best = best_null_threshold({"q1": "Paris", "q2": "Rome"}, golds, {"q1": 3.0, "q2": 7.0})
    assert best.f1 == 100.0
    assert best.threshold < 3.0
    assert squad2_scores({"q1": "Paris", "q2": "Rome"}, golds, {"q1": 3.0, "q2": 7.0}, best.threshold).f1 == 100.0


def test_best_null_threshold_when_nulling_everything_is_best() -> None:
    golds = {"q1": [], "q2": []}
    best = best_null_threshold({"q1": "a", "q2": "b"}, golds, {"q1": 3.0, "q2": 7.0})
    assert best.f1 == 100.0
    assert best.threshold > 7.0


def test_best_null_threshold_counts_missing_scores_as_no_answer() -> None:
    golds = {"q1": [], "q2": ["Paris"]}
    best = best_null_threshold({"q1": "x", "q2": "Paris"}, golds, {"q2": 1.0})
    assert best.f1 == 100.0


def test_no_answer_stats() -> None:
    golds = {"a": [], "b": [], "c": ["x"], "d": ["y"]}
    preds = {"a": "", "b": "z", "c": "", "d": "y"}
    s = no_answer_stats(preds, golds)
    assert (s.predicted, s.actual, s.correct) == (2, 2, 1)
    assert s.precision == 0.5 and s.recall == 0.5
    assert no_answer_stats({"c": "x"}, {"c": ["x"]}).precision is None


def test_recall_and_mrr() -> None:
    assert first_hit_rank(["d1", "d2", "gold", "gold"], "gold") == 3
    assert first_hit_rank(["d1"], "gold") is None
    assert first_hit_rank(["d1", "g2"], {"g1", "g2"}) == 2
    ranks = [1, 3, None, 10]
    assert recall_at_k(ranks, 1) == 0.25
    assert recall_at_k(ranks, 5) == 0.5
    assert recall_at_k(ranks, 10) == 0.75
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3 + 0 + 0.1) / 4)
    assert recall_at_k([], 5) == 0.0


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(101)), 95) == pytest.approx(95.0)


def test_threshold_curve() -> None:
    golds = {"q1": ["Paris"], "q2": []}
    preds = {"q1": "Paris", "q2": "Rome"}
    curve = threshold_curve(preds, golds, {"q1": 8.0, "q2": 3.0}, [0.0, 5.0, 10.0])
    assert [p["f1"] for p in curve] == [50.0, 100.0, 50.0]  # answer both / only q1 / neither
    assert [p["has_answer_f1"] for p in curve] == [100.0, 100.0, 0.0]
    assert [p["no_answer_f1"] for p in curve] == [0.0, 100.0, 100.0]
