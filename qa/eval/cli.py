"""`spanqa eval`: the command-line face of `qa.eval.runner.run_eval`.

The lead's `qa/cli.py` registers it: `app.command("eval")(eval_command)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from qa.eval.records import EvalSummary
from qa.eval.report import headline_rows


def eval_command(
    data: Annotated[
        Path,
        typer.Argument(help="SQuAD v1.1/v2.0 JSON file with the questions to ask", exists=True, dir_okay=False),
    ],
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            "--corpus",
            help="More SQuAD files whose contexts are indexed as distractors (repeatable)",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", min=1, max=100, help="Passages read per question (default: settings top_k)"),
    ] = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="Output folder: report.json, predictions.jsonl, report.html, index/"),
    ] = Path("eval-out"),
    articles: Annotated[
        str | None,
        typer.Option(
            "--articles",
            help="Comma-separated article titles whose questions are asked; all contexts are still indexed",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Ask only the first N selected questions")] = None,
) -> None:
    """Evaluate spanqa end to end on SQuAD-format data and write an HTML report."""
    from qa.eval.runner import run_eval
    from qa.eval.squad import SquadFormatError
    from qa.settings import get_settings

    console = Console()
    selected = [a.strip() for a in articles.split(",") if a.strip()] if articles else None
    try:
        report = run_eval(
            [data],
            corpus or [],
            top_k=top_k,
            out_dir=out,
            settings=get_settings(),
            articles=selected,
            limit=limit,
        )
    except (ValueError, SquadFormatError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    console.print(headline_table(report.summary))
    for name, path in report.files.items():
        console.print(f"{name:>12}: {path}")


def headline_table(summary: EvalSummary) -> Table:
    table = Table(title="spanqa evaluation")
    table.add_column("metric")
    table.add_column("end to end", justify="right")
    table.add_column("oracle", justify="right")
    for row in headline_rows(summary):
        table.add_row(*row)
    return table
