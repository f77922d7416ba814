"""Dev scores of a reader during training, with the decoding that serving and `spanqa eval` use.

The reader is `qa.reader.Reader` (windows, span decoding, null score), given the gold paragraph
of each question; the metrics are `qa.eval.metrics` (official SQuAD normalization, EM/F1, best
null threshold).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from qa.eval.metrics import best_null_threshold, squad2_scores
from qa.reader import Reader
from train.data import SquadQuestion


@dataclass(frozen=True)
class DevScores:
    """Percentages (0-100) on a dev set, the reader given each question's gold paragraph.

    `f1`/`exact`: SQuAD 2.0 overall scores at the best null threshold, predicting no answer
    where `null_score - best_span_score > null_threshold` (the convention of the shipped
    reader's `train_metrics.json`). `has_answer_*`: the best span on answerable questions.
    `span_threshold`: the threshold on the best span's score alone (the product's
    `SPANQA_NO_ANSWER_THRESHOLD` rule) that maximizes F1 here, with the F1 it gives.
    """

    questions: int
    answerable: int
    exact: float
    f1: float
    null_threshold: float
    has_answer_exact: float | None
    has_answer_f1: float | None
    no_answer_exact: float | None
    no_answer_f1: float | None
    span_threshold: float
    span_threshold_f1: float
    seconds: float

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def evaluate_reader(
    reader: Reader,
    questions: Sequence[SquadQuestion],
    batch_size: int = 32,
    on_progress: Callable[[int], None] | None = None,
) -> DevScores:
    """Reads every dev question against its own paragraph and scores the answers."""

    started = time.perf_counter()
    predictions: dict[str, str] = {}
    margin: dict[str, float] = {}  # best span score - null score: higher = more answer-like
    span_score: dict[str, float] = {}
    for lo in range(0, len(questions), batch_size):
        chunk = questions[lo : lo + batch_size]
        readings = reader.read_batch([q.question for q in chunk], [[q.context] for q in chunk], n_best=1)
        for q, reading in zip(chunk, readings):
            if not reading.spans:
                predictions[q.id] = ""
                continue
            best = reading.spans[0]
            predictions[q.id] = best.text
            span_score[q.id] = best.score
            margin[q.id] = best.score - reading.null_score if not math.isnan(reading.null_score) else best.score
        if on_progress is not None:
            on_progress(len(chunk))
    golds = {q.id: [a.text for a in q.answers] for q in questions}
    always_answer = squad2_scores(predictions, golds)
    by_margin = best_null_threshold(predictions, golds, margin)
    at_best = squad2_scores(predictions, golds, margin, threshold=by_margin.threshold)
    by_span = best_null_threshold(predictions, golds, span_score)
    return DevScores(
        questions=len(questions),
        answerable=always_answer.has_answer_total,
        exact=by_margin.exact,
        f1=by_margin.f1,
        null_threshold=-by_margin.threshold,
        has_answer_exact=always_answer.has_answer_exact,
        has_answer_f1=always_answer.has_answer_f1,
        no_answer_exact=at_best.no_answer_exact,
        no_answer_f1=at_best.no_answer_f1,
        span_threshold=by_span.threshold,
        span_threshold_f1=by_span.f1,
        seconds=time.perf_counter() - started,
    )
