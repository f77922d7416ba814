"""`spanqa reader promote|show|rollback`: which reader the server loads, and changing it safely."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table

from qa.reader_choice import active_reader, choice_file, read_choice, roll_back
from qa.settings import get_settings
from train.dev_scores import DevScores
from train.machine import quiet_transformers
from train.promote import (
    DEFAULT_DEV_ARTICLES,
    DEFAULT_DEV_FILE,
    Comparison,
    ReaderOptions,
    check_candidate,
    compare,
    load_dev_set,
    promote,
    rule_text,
    trained_on,
    window_mismatch,
)

reader_app = typer.Typer(
    help="The server's reader: promote a trained one when it scores better, show the active one, roll back.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@reader_app.command("promote")
def promote_command(
    model_dir: Annotated[Path, typer.Argument(help="A trained reader: the --out folder of train-reader")],
    dev: Annotated[
        Optional[Path],
        typer.Option("--dev", help="SQuAD 2.0 JSON to score both readers on (default: the shared dev split)"),
    ] = None,
    dev_articles: Annotated[
        Optional[str],
        typer.Option(
            help=f"Comma-separated article titles of --dev (default: {','.join(DEFAULT_DEV_ARTICLES)} for the shared dev file, else all)"
        ),
    ] = None,
    feedback: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--feedback",
            help="Held-out feedback exported as SQuAD JSON (GET /feedback/export), added to dev; repeatable",
        ),
    ] = None,
    dev_limit: Annotated[
        int, typer.Option(help="Score on at most this many dev questions, drawn at random (0 = all)")
    ] = 0,
    min_gain: Annotated[float, typer.Option(help="Overall F1 points the candidate must gain to be promoted")] = 0.0,
    backend: Annotated[
        Optional[str], typer.Option(help="torch or onnx (default: SPANQA_BACKEND, as the server runs it)")
    ] = None,
) -> None:
    """Score MODEL_DIR against the active reader on dev; make it the server's reader only if better."""
    settings = get_settings()
    current = active_reader(settings.data_dir, settings.reader_model)
    dev_file = dev or DEFAULT_DEV_FILE
    if dev_articles is None:
        articles = list(DEFAULT_DEV_ARTICLES) if dev is None else []
    else:
        articles = [a.strip() for a in dev_articles.split(",") if a.strip()]
    if backend not in (None, "torch", "onnx"):
        _fail("--backend must be torch or onnx")
    try:
        candidate = check_candidate(model_dir, current)
        dev_set = load_dev_set(dev_file, articles, list(feedback or []), dev_limit)
        with quiet_transformers():
            comparison = compare(current, candidate, dev_set, ReaderOptions.from_settings(settings, backend), min_gain)
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    note = window_mismatch(model_dir, ReaderOptions.from_settings(settings, backend))
    if note:
        err_console.print(f"note: {note}; both readers were scored with the server's windows")
    for name in trained_on(model_dir, list(feedback or [])):
        err_console.print(f"warning: the candidate was trained on {name}: its scores there are not held out")
    if dev_set.skipped_bad:
        err_console.print(f"warning: left out {len(dev_set.skipped_bad)} dev question(s) with bad answer offsets")
    described = dev_set.describe()
    where = f"{', '.join(described['files'])}" + (f" (articles: {', '.join(articles)})" if articles else "")
    console.print(f"dev: {described['questions']} questions ({described['answerable']} answerable) from {where}")
    console.print(f"active:    {current}\ncandidate: {candidate}", highlight=False)
    console.print(_table(comparison))
    console.print(f"rule: {rule_text(min_gain)}")
    if not comparison.better:
        console.print(
            f"[red]refused:[/red] overall F1 {comparison.candidate.f1:.2f} vs {comparison.current.f1:.2f} "
            f"({comparison.gain:+.2f}); the active reader stays {current}"
        )
        raise typer.Exit(1)
    promote(settings.data_dir, comparison, dev_set)
    console.print(
        f"[green]promoted:[/green] overall F1 {comparison.candidate.f1:.2f} vs {comparison.current.f1:.2f} "
        f"({comparison.gain:+.2f}); {candidate} is the active reader in {choice_file(settings.data_dir)}. "
        "Restart the server to load it; `spanqa reader rollback` undoes this."
    )


@reader_app.command("show")
def show_command() -> None:
    """Which reader the server loads, and why."""
    settings = get_settings()
    try:
        choice = read_choice(settings.data_dir)
    except ValueError as exc:
        _fail(str(exc))
    active = active_reader(settings.data_dir, settings.reader_model)
    console.print(f"active reader: {active}", highlight=False)
    if choice is None:
        console.print(f"why: the configured reader (SPANQA_READER_MODEL); no promotion in {settings.data_dir}")
        return
    if active != choice.path:
        console.print(f"why: the promoted reader {choice.path} is gone; falling back to the configured one")
        return
    current, candidate = choice.scores.get("current", {}), choice.scores.get("candidate", {})
    console.print(
        f"why: promoted {choice.promoted_at} over {choice.replaced}: overall F1 {candidate.get('f1', float('nan')):.2f} "
        f"vs {current.get('f1', float('nan')):.2f} on {choice.scores.get('dev', {}).get('questions', '?')} dev questions "
        f"({choice.rule}); recorded in {choice_file(settings.data_dir)}",
        highlight=False,
    )
    depth, previous = 0, choice.previous
    while previous is not None:
        depth, previous = depth + 1, previous.previous
    console.print(f"rollback goes back to: {choice.replaced} ({depth} earlier promotion(s) recorded)", highlight=False)


@reader_app.command("rollback")
def rollback_command() -> None:
    """Undo the last promotion: the reader it replaced becomes active again (on the server's next start)."""
    settings = get_settings()
    try:
        restored = roll_back(settings.data_dir)
    except (LookupError, ValueError) as exc:
        _fail(str(exc))
    active = restored.path if restored else settings.reader_model
    console.print(f"active reader: {active} (restart the server to load it)", highlight=False)


def _table(c: Comparison) -> Table:
    table = Table("", "active", "candidate", "change")
    rows: list[tuple[str, str]] = [
        ("overall F1 (best threshold)", "f1"),
        ("overall EM (best threshold)", "exact"),
        ("has-answer EM", "has_answer_exact"),
        ("has-answer F1", "has_answer_f1"),
        ("no-answer F1 (best threshold)", "no_answer_f1"),
    ]
    for label, key in rows:
        a, b = _get(c.current, key), _get(c.candidate, key)
        change = "" if a is None or b is None else f"{b - a:+.2f}"
        table.add_row(label, _fmt(a), _fmt(b), change)
    return table


def _get(scores: DevScores, key: str) -> float | None:
    value = getattr(scores, key)
    return None if value is None else float(value)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _fail(message: str) -> NoReturn:
    err_console.print(f"error: {message}", style="red", markup=False, highlight=False)
    raise typer.Exit(2)
