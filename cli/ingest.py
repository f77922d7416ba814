"""`spanqa ingest`: index files and folders, with progress and a summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cli.common import console, err_console, error, open_pipeline
from errors import SpanqaError
from index.sources import SourceFile
from qa.ingest_folder import IngestSummary, find_files, ingest_discovered
from qa.pipeline import Pipeline


def ingest_with_progress(
    pipeline: Pipeline,
    paths: list[Path],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    show_progress: bool = True,
) -> IngestSummary:
    """`ingest_discovered` with progress on stderr: a bar on a terminal, else a line per file."""
    found = find_files(paths, include=include, exclude=exclude)
    total = len(found.files)
    interactive = err_console.is_terminal
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not (show_progress and interactive),
    ) as progress:
        task = progress.add_task("ingesting", total=total)
        done = 0

        def on_file(source: SourceFile) -> None:
            nonlocal done
            if done:
                progress.advance(task)
            done += 1
            progress.update(task, description=f"reading {source.key}")
            if show_progress and not interactive:
                err_console.print(f"[{done}/{total}] {source.key}", highlight=False, markup=False)

        summary = ingest_discovered(pipeline, found, on_file=on_file)
        progress.update(task, completed=total, description="ingested")
    return summary


def print_summary(summary: IngestSummary, verbose: bool) -> None:
    counts = summary.counts()
    files = sum(counts[s] for s in ("added", "replaced", "unchanged", "failed"))
    console.print(
        " · ".join(f"{status} {count}" for status, count in counts.items())
        + f"  ({summary.seconds:.1f} s, {files / max(summary.seconds, 1e-9):.1f} files/s)",
        highlight=False,
        soft_wrap=True,
    )
    for status in ("added", "replaced", "unchanged", "skipped", "failed"):
        outcomes = summary.of(status)
        if not outcomes or (status in ("added", "unchanged") and not verbose):
            continue
        color = {"failed": "red", "skipped": "yellow"}.get(status, "green")
        console.print(f"[{color}]{status}:[/{color}]")
        for outcome in outcomes:
            if outcome.reason:
                line = f"  {outcome.path}: {outcome.reason}"
            else:
                line = f"  {outcome.path} -> {outcome.doc_id} ({outcome.chunks} chunks)"
            console.print(line, highlight=False, markup=False, soft_wrap=True)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to index (folders recursively)")],
    include: Annotated[
        list[str] | None,
        typer.Option("--include", "-i", help="Only files matching this glob (repeatable), e.g. '*.pdf' or 'reports/*'"),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude", "-x", help="Leave out files and folders matching this glob (repeatable), e.g. 'drafts'"
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every file, added and unchanged ones too")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON")] = False,
) -> None:
    """Index files and folders: new files are added, changed ones replaced, unchanged ones left alone.

    Ends with a summary: added, replaced, unchanged, skipped (hidden, excluded, unsupported type) and
    failed (with the reason); one bad file never stops the rest. A document is named by the file's path
    inside the folder given, starting with the folder's name, so ingesting the folder again updates the
    same documents. Exit status 1 when any file failed.
    """
    pipeline = open_pipeline()
    try:
        summary = ingest_with_progress(pipeline, paths, include or (), exclude or ())
    except SpanqaError as exc:
        error(f"the ingest stopped: {exc}")
        raise typer.Exit(2) from None
    finally:
        pipeline.close()
    if as_json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_summary(summary, verbose)
    if summary.of("failed"):
        raise typer.Exit(1)
