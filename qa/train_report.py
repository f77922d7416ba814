"""What a training run leaves beside the weights: `train_metrics.json` and the model card `README.md`."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.train_data import SquadQuestion

if TYPE_CHECKING:  # imported for types only: qa.train imports this module
    from qa.train import TrainConfig, TrainResult


@dataclass(frozen=True)
class DataFileSummary:
    path: str
    questions: int  # used from this file (after leaving out dev overlap and bad answers)
    answerable: int
    unanswerable: int
    articles: list[str] = field(default_factory=list)  # the dev articles, when chosen
    excluded_for_dev: int = 0
    skipped_bad: int = 0

    @classmethod
    def of(
        cls,
        path: Path,
        questions: Sequence[SquadQuestion],
        *,
        articles: Sequence[str] = (),
        excluded_for_dev: int = 0,
        skipped_bad: int = 0,
    ) -> DataFileSummary:
        answerable = sum(q.is_answerable for q in questions)
        return cls(
            path=str(path),
            questions=len(questions),
            answerable=answerable,
            unanswerable=len(questions) - answerable,
            articles=list(articles),
            excluded_for_dev=excluded_for_dev,
            skipped_bad=skipped_bad,
        )


def _best_dev(result: TrainResult) -> dict[str, Any] | None:
    for entry in result.epochs:
        if entry["epoch"] == result.best_epoch:
            return entry.get("dev")
    return None


def train_metrics(
    config: TrainConfig,
    files: Sequence[DataFileSummary],
    dev: DataFileSummary | None,
    result: TrainResult,
    summary: dict[str, Any],
    train_questions: int,
) -> dict[str, Any]:
    """The run as one JSON-able dict. Top-level `has_ans_em`, `has_ans_f1`,
    `overall_f1_best_thr`, `null_threshold`, `n`, `n_has` are the best epoch's dev scores, with
    the same names and meaning as the shipped reader's `train_metrics.json`."""
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


def write_train_metrics(out: Path, config, files, dev, result, summary, train_questions: int) -> Path:
    path = out / "train_metrics.json"
    data = train_metrics(config, files, dev, result, summary, train_questions)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def model_card(
    config: TrainConfig,
    files: Sequence[DataFileSummary],
    dev: DataFileSummary | None,
    result: TrainResult,
    summary: dict[str, Any],
    train_questions: int,
) -> str:
    lines = [
        "# Extractive QA reader trained with `spanqa train-reader`",
        "",
        f"Base: `{config.base}`. Output of `spanqa train-reader`; load it like any Hugging Face "
        "extractive QA model (`AutoModelForQuestionAnswering`), or point spanqa at it:",
        "",
        "```sh",
        f"SPANQA_READER_MODEL={config.out.resolve()} spanqa serve",
        "```",
        "",
        f"Windows of {config.max_length} tokens with a stride of {config.stride} "
        "(`[CLS] question [SEP] context [SEP]`, from `qa.windows.encode_windows`, the same function "
        "serving uses): set `SPANQA_READER_MAX_LENGTH` / `SPANQA_READER_STRIDE` to match if they "
        "differ from the defaults. Unanswerable questions, and windows without the answer, were "
        "trained to point at the first token (`[CLS]`); its start+end logit is the null score.",
        "",
        "## Training data",
        "",
        "| file | questions used | answerable | unanswerable | left out (dev overlap) | left out (bad answer offsets) |",
        "|---|---|---|---|---|---|",
    ]
    for f in files:
        lines.append(
            f"| `{f.path}` | {f.questions:,} | {f.answerable:,} | {f.unanswerable:,} | {f.excluded_for_dev:,} | {f.skipped_bad:,} |"
        )
    lines += [
        "",
        f"Trained on {train_questions:,} questions"
        + (f" (a random sample: `--limit {config.limit}`)" if config.limit else "")
        + f" -> {summary['features']:,} windows ({summary['answer_windows']:,} holding the answer)"
        + (f", at most {config.max_windows} windows per question" if config.max_windows else "")
        + ".",
        "",
        "## Hyperparameters",
        "",
        f"AdamW, learning rate {config.lr:g}, weight decay {config.weight_decay:g}, "
        f"{config.warmup:.0%} linear warm-up then linear decay, batch {config.batch_size} windows "
        f"(grouped by length, padding trimmed), {config.epochs} epoch(s) = {summary['total_steps']:,} steps, "
        f"gradient clipping 1.0, seed {config.seed}.",
        "",
    ]
    if dev is not None:
        articles = f" (articles: {', '.join(dev.articles)})" if dev.articles else ""
        sample = f", a random sample of {config.dev_limit}" if config.dev_limit else ""
        lines += [
            "## Dev scores per epoch",
            "",
            f"On `{dev.path}`{articles}: {dev.questions:,} questions ({dev.answerable:,} answerable){sample}. "
            "The reader is given each question's gold paragraph and decodes with `qa.reader.Reader` "
            f"(spans up to {config.max_answer_tokens} tokens); metrics from `qa.eval.metrics` (official "
            "SQuAD normalization). *F1 / EM at best threshold*: SQuAD 2.0 overall scores predicting "
            "no answer where `null_score - best_span_score > null threshold`, at the threshold "
            "that maximizes F1. *no-answer threshold*: the threshold on the best span score alone "
            "(spanqa's `SPANQA_NO_ANSWER_THRESHOLD` rule) that maximizes F1, and that F1.",
            "",
            "| epoch | train loss | F1 (best thr) | EM (best thr) | null threshold | has-answer EM | has-answer F1 | no-answer F1 | no-answer threshold (F1) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for e in result.epochs:
            d = e.get("dev") or {}
            mark = " (kept)" if e["epoch"] == result.best_epoch else ""
            lines.append(
                f"| {e['epoch']}{mark} | {e['train_loss']:.3f} | {_pct(d.get('f1'))} | {_pct(d.get('exact'))} | "
                f"{d.get('null_threshold', float('nan')):.2f} | {_pct(d.get('has_answer_exact'))} | "
                f"{_pct(d.get('has_answer_f1'))} | {_pct(d.get('no_answer_f1'))} | "
                f"{d.get('span_threshold', float('nan')):.2f} ({_pct(d.get('span_threshold_f1'))}) |"
            )
        lines.append("")
    else:
        lines += ["No dev set was given: the model is the last epoch's.", ""]
    machine = summary["machine"]
    where = (
        machine.get("gpu")
        or f"{machine['cpu']}, {machine['torch_threads']} torch thread(s) of {machine['cpu_cores']} cores"
    )
    resumed = (
        f" Resumed at step(s) {', '.join(map(str, summary['resumed_at_steps']))}."
        if summary["resumed_at_steps"]
        else ""
    )
    lines += [
        "## Training time",
        "",
        f"{result.train_seconds / 60:.1f} minutes of optimizer steps ({result.windows_per_second:.1f} windows/s, "
        f"dev evaluation not included) on {machine['device']}: {where}; {machine['platform']}, "
        f"torch {machine['torch']}.{resumed}",
        "",
    ]
    return "\n".join(lines)


def write_model_card(out: Path, config, files, dev, result, summary, train_questions: int) -> Path:
    path = out / "README.md"
    path.write_text(model_card(config, files, dev, result, summary, train_questions), encoding="utf-8")
    return path
