"""Typed records between the eval runner (qa.eval.runner, qa.eval.summary) and its report.

`QuestionRecord` is one line of predictions.jsonl; `EvalSummary` is report.json (`as_json`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.calibration import ReliabilityBin
from qa.eval.metrics import NoAnswerStats, NullThreshold, Squad2Scores


@dataclass
class QuestionRecord:
    """One question's outcome: one line of predictions.jsonl."""

    id: str
    question: str
    article: str
    paragraph_id: str
    gold_answers: list[str]
    has_answer: bool
    prediction: str  # "" = no answer
    citation: dict[str, Any] | None  # doc_id, title, start, end, page of the top answer
    citations: int  # places the top answer was found (1 + other passages giving the same answer)
    confidence: float | None  # calibrated P(right) of the best candidate, even when not answered
    best_score: float | None  # best span score (None: nothing retrieved)
    null_score: float | None
    best_span: str  # the best candidate's text even when it fell below min_confidence
    best_doc_id: str | None  # the document of the best candidate's primary place
    features: dict[str, float]  # the best candidate's calibration features
    exact: float
    f1: float
    best_right: bool  # the best candidate is right (token F1 >= 0.5): the calibrator's label
    gold_retrieved: bool  # a chunk of the gold paragraph was among the passages read
    gold_rank: int | None  # rank of its first chunk in the top-20 retrieval, None if absent
    oracle_prediction: str
    oracle_best_span: str
    oracle_score: float | None
    oracle_null_score: float | None
    oracle_exact: float
    oracle_f1: float
    miss: str | None  # qa.eval.misses class, None when right (exact match)
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class QuestionCounts:
    total: int
    has_answer: int
    no_answer: int


@dataclass
class IngestStats:
    documents: int
    chunks: int
    seconds: float
    documents_per_s: float | None
    chunks_per_s: float | None


@dataclass
class RetrievalSummary:
    recall_at: dict[str, float]
    mrr: float
    has_answer_recall_at: dict[str, float]
    gold_in_read_passages: float
    top_k_read: int


@dataclass
class NoAnswerSummary:
    end_to_end: NoAnswerStats
    oracle: NoAnswerStats
    threshold_used: float  # span-score threshold (used only without a calibrator)
    min_confidence: float | None  # the calibrated rule's cut-off (None: no calibrator)
    # Answer when the score is >= threshold; reported, never applied (see qa.eval.summary).
    best_threshold: dict[str, NullThreshold]
    answer_all_has_answer_f1: float | None  # end to end, answering every question
    oracle_answer_all_has_answer_f1: float | None


@dataclass
class CalibrationSummary:
    calibrator: str | None  # what fitted the calibrator used, None: none (score threshold)
    right_rate: float  # share of questions whose best candidate is right
    ece: float | None  # of the calibrator used (in-sample when it was fitted on this data)
    reliability: list[ReliabilityBin]
    ece_held_out: float | None  # refitted leave-one-article-out on these questions
    reliability_held_out: list[ReliabilityBin]


@dataclass
class LatencyStats:
    p50: float | None
    p95: float | None
    mean: float | None


@dataclass
class Throughput:
    ask_seconds: float
    questions_per_s: float | None


@dataclass
class EvalSummary:
    """Headline numbers: report.json."""

    created: str
    config: dict[str, Any]
    questions: QuestionCounts
    ingest: IngestStats
    end_to_end: Squad2Scores
    oracle: Squad2Scores
    retrieval: RetrievalSummary
    no_answer: NoAnswerSummary
    calibration: CalibrationSummary
    threshold_curve: list[dict[str, float | None]]
    failures: dict[str, int]  # miss class (qa.eval.misses) -> questions; "right" for the rest
    latency_ms: dict[str, LatencyStats]
    throughput: Throughput

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalReport:
    """Headline numbers and the per-question records."""

    summary: EvalSummary
    records: list[QuestionRecord]
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)  # "json", "predictions", "html"

    def record_dicts(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.records]
