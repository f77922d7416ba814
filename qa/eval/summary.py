"""The headline numbers of an eval run (report.json) from its per-question records."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from qa import calibration
from qa.eval import metrics
from qa.eval.misses import MISS_CLASSES
from qa.eval.records import (
    CalibrationSummary,
    EvalSummary,
    IngestStats,
    LatencyStats,
    NoAnswerSummary,
    QuestionCounts,
    QuestionRecord,
    RetrievalSummary,
    Throughput,
)

RECALL_KS = (1, 5, 10, 20)
# Stages of AskResult.timings_ms in report order; those a run did not time are left out.
STAGES = ("embed", "search", "bm25", "fuse", "rerank", "retrieve", "read", "total")


def _scores(records: list[QuestionRecord], pred: Callable[[QuestionRecord], str]) -> metrics.Squad2Scores:
    return metrics.squad2_scores({r.id: pred(r) for r in records}, {r.id: r.gold_answers for r in records})


def _threshold(
    records: list[QuestionRecord],
    pred: Callable[[QuestionRecord], str],
    score_of: Callable[[QuestionRecord], float | None],
) -> metrics.NullThreshold:
    preds = {r.id: pred(r) for r in records}
    golds = {r.id: r.gold_answers for r in records}
    scores = {r.id: s for r in records if (s := score_of(r)) is not None}
    return metrics.best_null_threshold(preds, golds, scores)


def _curve(records: list[QuestionRecord], points: int = 41) -> list[dict[str, float | None]]:
    """End-to-end F1 against a threshold on the best span score, over the range of scores seen."""
    scores = {r.id: r.best_score for r in records if r.best_score is not None}
    if not scores:
        return []
    lo, hi = math.floor(min(scores.values())), math.ceil(max(scores.values()))
    grid = [lo + (hi - lo) * i / (points - 1) for i in range(points)] if hi > lo else [lo]
    return metrics.threshold_curve(
        {r.id: r.best_span for r in records}, {r.id: r.gold_answers for r in records}, scores, grid
    )


def _margin(best: float | None, null: float | None) -> float | None:
    return None if best is None or null is None else best - null


def held_out_confidences(records: list[QuestionRecord]) -> list[float] | None:
    """Each question's confidence from a calibrator refitted without its article (None when
    there are fewer than two articles or a fold lacks right or wrong answers)."""
    articles = sorted({r.article for r in records})
    if len(articles) < 2:
        return None
    probs = [0.0] * len(records)
    for article in articles:
        train = [r for r in records if r.article != article and r.features]
        try:
            fitted = calibration.fit(
                [r.features for r in train], [int(r.best_right) for r in train], reader="", embedder=""
            )
        except ValueError:
            return None
        for i, r in enumerate(records):
            if r.article == article and r.features:
                probs[i] = fitted.probability(r.features)
    return probs


def summarize_calibration(records: list[QuestionRecord], calibrator: str | None) -> CalibrationSummary:
    labels = [int(r.best_right) for r in records]
    used = [r.confidence or 0.0 for r in records]
    held = held_out_confidences(records)
    return CalibrationSummary(
        calibrator=calibrator,
        right_rate=sum(labels) / len(labels) if labels else 0.0,
        ece=calibration.expected_calibration_error(used, labels) if calibrator else None,
        reliability=calibration.reliability(used, labels) if calibrator else [],
        ece_held_out=calibration.expected_calibration_error(held, labels) if held else None,
        reliability_held_out=calibration.reliability(held, labels) if held else [],
    )


def _has_answer_f1(records: list[QuestionRecord], pred: Callable[[QuestionRecord], str]) -> float | None:
    has = [r for r in records if r.has_answer]
    return 100 * sum(metrics.f1(pred(r), r.gold_answers) for r in has) / len(has) if has else None


def summarize(
    records: list[QuestionRecord],
    *,
    threshold: float,
    min_confidence: float | None,
    calibrator: str | None,
    top_k: int,
    ask_seconds: float,
    ingest: IngestStats,
    config: dict[str, Any],
) -> EvalSummary:
    """The headline numbers of report.json."""
    golds = {r.id: r.gold_answers for r in records}
    ranks = [r.gold_rank for r in records]
    answerable_ranks = [r.gold_rank for r in records if r.has_answer]
    latency = {
        stage: LatencyStats(metrics.percentile(values, 50), metrics.percentile(values, 95), sum(values) / len(values))
        for stage in STAGES
        if (values := [r.timings_ms[stage] for r in records if stage in r.timings_ms])
    }
    failures = {key: n for key in ("right", *MISS_CLASSES) if (n := sum((r.miss or "right") == key for r in records))}
    return EvalSummary(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        config=config,
        questions=QuestionCounts(
            len(records), sum(r.has_answer for r in records), sum(not r.has_answer for r in records)
        ),
        ingest=ingest,
        end_to_end=_scores(records, lambda r: r.prediction),
        oracle=_scores(records, lambda r: r.oracle_prediction),
        retrieval=RetrievalSummary(
            recall_at={str(k): metrics.recall_at_k(ranks, k) for k in RECALL_KS},
            mrr=metrics.mean_reciprocal_rank(ranks),
            has_answer_recall_at={str(k): metrics.recall_at_k(answerable_ranks, k) for k in RECALL_KS},
            gold_in_read_passages=sum(r.gold_retrieved for r in records) / len(records),
            top_k_read=top_k,
        ),
        no_answer=NoAnswerSummary(
            end_to_end=metrics.no_answer_stats({r.id: r.prediction for r in records}, golds),
            oracle=metrics.no_answer_stats({r.id: r.oracle_prediction for r in records}, golds),
            threshold_used=threshold,
            min_confidence=min_confidence,
            # "best_score": the best span's start+end logit; "margin": minus the [CLS] null score;
            # "confidence": the calibrated P(right). Reported, never applied.
            best_threshold={
                "end_to_end_best_score": _threshold(records, lambda r: r.best_span, lambda r: r.best_score),
                "end_to_end_margin": _threshold(
                    records, lambda r: r.best_span, lambda r: _margin(r.best_score, r.null_score)
                ),
                "end_to_end_confidence": _threshold(records, lambda r: r.best_span, lambda r: r.confidence),
                "oracle_best_score": _threshold(records, lambda r: r.oracle_best_span, lambda r: r.oracle_score),
                "oracle_margin": _threshold(
                    records, lambda r: r.oracle_best_span, lambda r: _margin(r.oracle_score, r.oracle_null_score)
                ),
            },
            answer_all_has_answer_f1=_has_answer_f1(records, lambda r: r.best_span),
            oracle_answer_all_has_answer_f1=_has_answer_f1(records, lambda r: r.oracle_best_span),
        ),
        calibration=summarize_calibration(records, calibrator),
        threshold_curve=_curve(records),
        failures=failures,
        latency_ms=latency,
        throughput=Throughput(ask_seconds, len(records) / ask_seconds if ask_seconds else None),
    )
