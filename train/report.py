"""`train_metrics.json`: a training run as one JSON file beside the weights."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from train.config import TrainConfig
from train.dataset import DataFileSummary
from train.result import TrainResult


def _best_dev(result: TrainResult) -> dict[str, Any] | None:
    for entry in result.epochs:
        if entry["epoch"] == result.best_epoch:
            return entry.get("dev")
    return None


@dataclass(frozen=True)
class FinishedRun:
    """A finished training run, as its reports (`train_metrics.json`, the model card) describe it."""

    config: TrainConfig
    files: Sequence[DataFileSummary]
    dev: DataFileSummary | None
    result: TrainResult
    summary: dict[str, Any]
    train_questions: int


def train_metrics(run: FinishedRun) -> dict[str, Any]:
    """The run as one JSON-able dict. Top-level `has_ans_em`, `has_ans_f1`,
    `overall_f1_best_thr`, `null_threshold`, `n`, `n_has` are the best epoch's dev scores, with
    the same names and meaning as the shipped reader's `train_metrics.json`."""
    config, files, dev, result = run.config, run.files, run.dev, run.result
    summary, train_questions = run.summary, run.train_questions
    best = _best_dev(result)
    metrics: dict[str, Any] = {}
    if best is not None:
        metrics.update(
            has_ans_em=best["has_answer_exact"],
            has_ans_f1=best["has_answer_f1"],
            overall_f1_best_thr=best["f1"],
            overall_em_best_thr=best["exact"],
            null_threshold=best["null_threshold"],
            no_answer_threshold=best["span_threshold"],
            n=best["questions"],
            n_has=best["answerable"],
        )
    metrics.update(
        base=config.base,
        best_epoch=result.best_epoch,
        epochs_run=result.epochs,
        train_seconds=round(result.train_seconds, 1),
        windows_per_second=round(result.windows_per_second, 2),
        train_questions=train_questions,
        train_windows=summary["features"],
        train_answer_windows=summary["answer_windows"],
        steps=result.step,
        train_files=[asdict(f) for f in files],
        dev=asdict(dev) if dev else None,
        hyperparameters={
            k: v
            for k, v in config.identity().items()
            if k not in ("train_files", "out", "base", "dev_file", "dev_articles")
        },
        resumed_at_steps=summary["resumed_at_steps"],
        machine=summary["machine"],
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    return metrics


def write_train_metrics(out: Path, run: FinishedRun) -> Path:
    path = out / "train_metrics.json"
    data = train_metrics(run)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path
