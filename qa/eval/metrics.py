"""SQuAD metrics: answer normalization, EM/F1, SQuAD 2.0 aggregates, no-answer thresholds, recall@k.

Normalization and EM/F1 follow the official SQuAD 2.0 evaluation script
(`evaluate-v2.0.py`): lowercase, strip punctuation, drop the articles a/an/the, collapse
whitespace. An unanswerable question has no gold answers (`golds == []`); the right
prediction for it is the empty string, which scores EM = F1 = 1.

Everything here is plain Python over dicts keyed by question id, so the runner, the reader's
training script and tests can share it.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lowercase, remove punctuation, remove articles, collapse whitespace (official SQuAD)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def answer_tokens(text: str) -> list[str]:
    """The normalized answer's tokens (whitespace split)."""
    return normalize_answer(text).split() if text else []


def _golds_or_empty(golds: Sequence[str] | str) -> list[str]:
    """Gold answers that normalize to something; `[""]` for an unanswerable question.

    Same as the official script: golds that normalize to nothing are dropped. A single
    string is taken as one gold answer.
    """
    if isinstance(golds, str):
        golds = [golds]
    kept = [g for g in golds if normalize_answer(g)]
    return kept or [""]


def _exact_one(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def _f1_one(prediction: str, gold: str) -> float:
    pred_toks = answer_tokens(prediction)
    gold_toks = answer_tokens(gold)
    if not pred_toks or not gold_toks:  # no-answer on either side: all or nothing
        return float(pred_toks == gold_toks)
    common = Counter(pred_toks) & Counter(gold_toks)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_toks)
    recall = same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str] | str) -> float:
    """1.0 if the normalized prediction equals any normalized gold answer, else 0.0.

    `golds == []` means unanswerable: only an empty prediction scores 1.0.
    """
    return max(_exact_one(prediction, g) for g in _golds_or_empty(golds))


def f1(prediction: str, golds: Sequence[str] | str) -> float:
    """Token-overlap F1 of the normalized prediction, the max over gold answers.

    `golds == []` means unanswerable: only an empty prediction scores 1.0.
    """
    return max(_f1_one(prediction, g) for g in _golds_or_empty(golds))


def has_answer(golds: Sequence[str] | str) -> bool:
    """Whether a question is answerable (has at least one gold answer that is not empty)."""
    return _golds_or_empty(golds) != [""]


@dataclass(frozen=True)
class Squad2Scores:
    """Aggregates in percent (0-100), like the official script; None where a split is empty."""

    exact: float
    f1: float
    total: int
    has_answer_exact: float | None
    has_answer_f1: float | None
    has_answer_total: int
    no_answer_exact: float | None
    no_answer_f1: float | None
    no_answer_total: int

    def as_dict(self) -> dict[str, float | int | None]:
        return dict(self.__dict__)


def _mean_pct(values: list[float]) -> float | None:
    return 100.0 * sum(values) / len(values) if values else None


def squad2_scores(
    predictions: Mapping[str, str],
    golds: Mapping[str, Sequence[str]],
    answer_scores: Mapping[str, float] | None = None,
    threshold: float | None = None,
) -> Squad2Scores:
    """EM/F1 over all questions of `golds`, overall and split by has-answer / no-answer.

    A question missing from `predictions` counts as predicted "" (no answer).
    With `answer_scores` and `threshold`, a prediction whose score is below `threshold` is
    turned into "" first (the same rule as the reader: no answer when best score < threshold).
    """
    preds = apply_null_threshold(predictions, answer_scores, threshold) if threshold is not None else predictions
    em_all: list[float] = []
    f1_all: list[float] = []
    em_has, f1_has, em_no, f1_no = [], [], [], []
    for qid, gold in golds.items():
        pred = preds.get(qid, "")
        em, f = exact_match(pred, gold), f1(pred, gold)
        em_all.append(em)
        f1_all.append(f)
        if has_answer(gold):
            em_has.append(em)
            f1_has.append(f)
        else:
            em_no.append(em)
            f1_no.append(f)
    return Squad2Scores(
        exact=_mean_pct(em_all) or 0.0,
        f1=_mean_pct(f1_all) or 0.0,
        total=len(em_all),
        has_answer_exact=_mean_pct(em_has),
        has_answer_f1=_mean_pct(f1_has),
        has_answer_total=len(em_has),
        no_answer_exact=_mean_pct(em_no),
        no_answer_f1=_mean_pct(f1_no),
        no_answer_total=len(em_no),
    )


def apply_null_threshold(
    predictions: Mapping[str, str], answer_scores: Mapping[str, float] | None, threshold: float
) -> dict[str, str]:
    """Predictions with `answer_scores[qid] < threshold` (or no score, or nan) become ""."""
    scores = answer_scores or {}
    out: dict[str, str] = {}
    for qid, pred in predictions.items():
        score = scores.get(qid)
        below = score is None or math.isnan(score) or score < threshold
        out[qid] = "" if below else pred
    return out


@dataclass(frozen=True)
class NullThreshold:
    """The threshold on a per-question answer score that maximizes a SQuAD 2.0 metric.

    Rule: answer when `score >= threshold`, else predict no answer. `threshold` is the
    midpoint between the highest score turned into no-answer and the lowest score kept (or
    just below / above the extremes when nothing / everything is turned into no-answer).
    `exact` and `f1` are the overall scores (percent) at that threshold.
    """

    threshold: float
    exact: float
    f1: float
    metric: str  # "f1" or "exact": which one was maximized


def best_null_threshold(
    predictions: Mapping[str, str],
    golds: Mapping[str, Sequence[str]],
    answer_scores: Mapping[str, float],
    metric: str = "f1",
) -> NullThreshold:
    """The `threshold` maximizing overall `metric` when predictions below it become "".

    `predictions` are the answers each question would get if answered (the best span,
    before any threshold); `answer_scores` rank how answer-like each question is, higher
    meaning more confident (e.g. the best span score, or `best_score - null_score`).
    Questions with no score (or nan) or an empty prediction always count as no-answer.
    Ties between thresholds go to the lowest one. Like the official `find_best_thresh`.
    """
    if metric not in ("f1", "exact"):
        raise ValueError("metric must be 'f1' or 'exact'")
    qids = list(golds)
    if not qids:
        return NullThreshold(threshold=0.0, exact=0.0, f1=0.0, metric=metric)
    n = len(qids)
    # Per question: the metric when answered vs when no-answer (1 for unanswerable, else 0).
    em_ans: dict[str, float] = {}
    f1_ans: dict[str, float] = {}
    em_null: dict[str, float] = {}
    scored: list[tuple[float, str]] = []
    for qid in qids:
        em_null[qid] = 0.0 if has_answer(golds[qid]) else 1.0
        pred = predictions.get(qid, "")
        score = answer_scores.get(qid)
        if pred and score is not None and not math.isnan(score):
            em_ans[qid] = exact_match(pred, golds[qid])
            f1_ans[qid] = f1(pred, golds[qid])
            scored.append((float(score), qid))
    # Start with every scored question answered (threshold below all scores), then turn them
    # into no-answer one distinct score at a time, lowest first.
    scored.sort()
    em_total = sum(em_ans.get(q, em_null[q]) for q in qids)
    f1_total = sum(f1_ans.get(q, em_null[q]) for q in qids)
    target = f1_total if metric == "f1" else em_total
    best = (target, em_total, f1_total, scored[0][0] - 1.0 if scored else 0.0)
    i = 0
    while i < len(scored):
        value = scored[i][0]
        while i < len(scored) and scored[i][0] == value:
            qid = scored[i][1]
            em_total += em_null[qid] - em_ans[qid]
            f1_total += em_null[qid] - f1_ans[qid]
            i += 1
        target = f1_total if metric == "f1" else em_total
        if target > best[0] + 1e-12:
            threshold = (value + scored[i][0]) / 2 if i < len(scored) else value + 1.0
            best = (target, em_total, f1_total, threshold)
    _, em_best, f1_best, threshold = best
    return NullThreshold(threshold=float(threshold), exact=100.0 * em_best / n, f1=100.0 * f1_best / n, metric=metric)


def threshold_curve(
    predictions: Mapping[str, str],
    golds: Mapping[str, Sequence[str]],
    answer_scores: Mapping[str, float],
    thresholds: Sequence[float],
) -> list[dict[str, float | None]]:
    """Overall, has-answer and no-answer F1 (percent) at each threshold: the trade-off to pick from.

    Same rule as `squad2_scores`: a prediction scoring below the threshold becomes "".
    """
    out = []
    for t in thresholds:
        s = squad2_scores(predictions, golds, answer_scores, t)
        out.append(
            {"threshold": float(t), "f1": s.f1, "has_answer_f1": s.has_answer_f1, "no_answer_f1": s.no_answer_f1}
        )
    return out


@dataclass(frozen=True)
class NoAnswerStats:
    """How well "no answer" is predicted: precision, recall (None when undefined) and counts."""

    precision: float | None  # of questions answered "no answer", the share truly unanswerable
    recall: float | None  # of unanswerable questions, the share answered "no answer"
    predicted: int  # questions answered "no answer"
    actual: int  # unanswerable questions
    correct: int  # both

    def as_dict(self) -> dict[str, float | int | None]:
        return dict(self.__dict__)


def no_answer_stats(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]]) -> NoAnswerStats:
    """No-answer precision and recall; a prediction is "no answer" when it normalizes to ""."""
    predicted = actual = correct = 0
    for qid, gold in golds.items():
        said_none = not normalize_answer(predictions.get(qid, ""))
        is_none = not has_answer(gold)
        predicted += said_none
        actual += is_none
        correct += said_none and is_none
    return NoAnswerStats(
        precision=correct / predicted if predicted else None,
        recall=correct / actual if actual else None,
        predicted=predicted,
        actual=actual,
        correct=correct,
    )


def first_hit_rank(retrieved: Iterable[str], gold: str | set[str]) -> int | None:
    """1-based rank of the first retrieved item equal to (or in) `gold`, None if absent."""
    wanted = {gold} if isinstance(gold, str) else gold
    for rank, item in enumerate(retrieved, start=1):
        if item in wanted:
            return rank
    return None


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first hit is at rank <= k (ranks 1-based, None = no hit)."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float:
    """Mean of 1/rank of the first hit (0 for no hit)."""
    if not ranks:
        return 0.0
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100, linear interpolation) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
