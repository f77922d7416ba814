"""`spanqa calibrate DATA.json`: fit the confidence calibrator on labelled questions about the
indexed documents, and keep it in the store (qa.calibration; every replica on one database uses it
from its next start).

Every question of DATA (SQuAD v1.1/v2.0 format: its contexts should be among the indexed
documents, e.g. `GET /feedback/export` or the SQuAD dev files after `spanqa eval`-style ingest)
is asked through the pipeline; its best candidate's features and whether that candidate is right
(token F1 >= 0.5, any answer to an unanswerable question is wrong) are the training data.

The lead's CLI registers it: `app.command("calibrate")(calibrate_command)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from errors import InvalidRequest
from qa import calibration
from qa.eval.metrics import f1
from qa.eval.squad import SquadFormatError, load_squad

if TYPE_CHECKING:
    from qa.pipeline import Pipeline


@dataclass(frozen=True)
class LabelledCandidate:
    group: str  # article title: held-out folds never split an article
    features: dict[str, float]
    right: int


def collect(data: Path, pipeline: Pipeline, limit: int | None = None) -> list[LabelledCandidate]:
    """Asks every question of `data`; the best candidate's features and label, per question."""
    questions = load_squad([data]).questions[:limit]
    out = []
    for q in questions:
        try:
            result = pipeline.ask(q.question)
        except InvalidRequest:
            continue
        if not result.candidates:
            continue
        best = result.candidates[0]
        right = q.has_answer and f1(best.primary.text, q.answers) >= calibration.RIGHT_F1
        out.append(LabelledCandidate(q.title, dict(best.features), int(right)))
    return out


def held_out_ece(examples: list[LabelledCandidate], folds: int = 5) -> float | None:
    """ECE of calibrators refitted without each fold (folds by article when there are several)."""
    groups = sorted({e.group for e in examples})
    keys = groups if len(groups) >= 2 else [str(i) for i in range(folds)]
    fold_of = (lambda i, e: e.group) if len(groups) >= 2 else (lambda i, e: str(i % folds))
    probs: list[float] = []
    labels: list[int] = []
    for key in keys:
        train = [e for i, e in enumerate(examples) if fold_of(i, e) != key]
        test = [e for i, e in enumerate(examples) if fold_of(i, e) == key]
        try:
            fitted = calibration.fit([e.features for e in train], [e.right for e in train], reader="", embedder="")
        except ValueError:
            return None
        probs += [fitted.probability(e.features) for e in test]
        labels += [e.right for e in test]
    return calibration.expected_calibration_error(probs, labels)


def calibrate_command(
    data: Annotated[
        Path,
        typer.Argument(help="SQuAD v1.1/v2.0 JSON: questions about the indexed documents", exists=True, dir_okay=False),
    ],
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Ask only the first N questions")] = None,
) -> None:
    """Fit the confidence calibrator on labelled questions and keep it in the index's store."""
    from qa.pipeline import Pipeline
    from qa.settings import get_settings
    from qa.wiring import make_embedder, open_configured_store

    console = Console()
    settings = get_settings()
    embedder = make_embedder(settings)
    store = open_configured_store(settings, embedder)
    try:
        pipeline = Pipeline(settings, embedder, store=store)
        try:
            examples = collect(data, pipeline, limit)
        except SquadFormatError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=2) from exc
        finally:
            pipeline.close(keep_store=True)
        try:
            fitted = calibration.fit(
                [e.features for e in examples],
                [e.right for e in examples],
                reader=calibration.reader_identity(settings.reader_model),
                embedder=embedder.identity,
                fitted_on=data.name,
            )
        except ValueError as exc:
            console.print(f"[red]error:[/red] {exc} ({len(examples)} questions with a candidate)")
            raise typer.Exit(code=2) from exc
        calibration.store_calibrator(fitted, store.values)
    finally:
        store.close()
    right = sum(e.right for e in examples)
    held = held_out_ece(examples)
    console.print(f"{len(examples)} questions, best candidate right for {right} ({100 * right / len(examples):.1f}%)")
    console.print(f"held-out ECE (10 bins): {'–' if held is None else f'{held:.3f}'}")
    where = "the PostgreSQL database" if settings.database_url else f"the index in {settings.data_dir}"
    console.print(f"calibrator for reader {fitted.reader!r} + embedder {fitted.embedder!r}: kept in {where}")
