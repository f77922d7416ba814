"""The `spanqa` command line: the same pipeline as the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from transformers.utils import logging as hf_logging
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from index.errors import SpanqaError
from index.loaders import is_supported
from qa.settings import Settings, get_settings

app = typer.Typer(help="spanqa: extractive question answering over your documents, with exact citations.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
docs_app = typer.Typer(help="List, show and delete indexed documents.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
console = Console()
err_console = Console(stderr=True)
hf_logging.disable_progress_bar()


def _pipeline(read_only: bool = False):
    from qa.pipeline import Pipeline

    try:
        return Pipeline.from_settings(get_settings(), read_only=read_only)
    except SpanqaError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _files_under(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_supported(p.name)))
        elif path.is_file():
            files.append(path)
        else:
            err_console.print(f"[yellow]skipped[/yellow] {path}: no such file or folder")
    return files


def ingest_files(pipeline, files: list[Path], show_progress: bool = True) -> dict[str, list[str]]:
    """Ingests files one by one; one bad file never stops the rest. Returns outcomes by status."""
    outcomes: dict[str, list[str]] = {"added": [], "replaced": [], "unchanged": [], "failed": []}
    with Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err_console, disable=not show_progress,
    ) as progress:
        task = progress.add_task("ingesting", total=len(files))
        for path in files:
            progress.update(task, description=f"ingesting {path.name}")
            try:
                result = pipeline.ingest_path(path)
                outcomes[result.status].append(f"{path} -> {result.id} ({result.chunks} chunks)")
            except (SpanqaError, OSError) as exc:
                outcomes["failed"].append(f"{path}: {exc}")
            progress.advance(task)
    return outcomes


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="Files and folders to index")]) -> None:
    """Index files and folders (recursively)."""
    files = _files_under(paths)
    pipeline = _pipeline()
    try:
        outcomes = ingest_files(pipeline, files)
    finally:
        pipeline.close()
    for status in ("added", "replaced", "unchanged", "failed"):
        color = "red" if status == "failed" else "green"
        console.print(f"[{color}]{status}[/{color}]: {len(outcomes[status])}")
        for line in outcomes[status] if status == "failed" else []:
            console.print(f"  {line}")
    if outcomes["failed"] and not any(outcomes[s] for s in ("added", "replaced", "unchanged")):
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question")],
    top_k: Annotated[Optional[int], typer.Option(help="Passages to read")] = None,
    max_answers: Annotated[Optional[int], typer.Option(help="Answers to show")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's response JSON")] = False,
) -> None:
    """Ask a question; prints the answer with its citation."""
    pipeline = _pipeline(read_only=True)
    try:
        result = pipeline.ask(question, top_k=top_k, max_answers=max_answers)
    except SpanqaError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    finally:
        pipeline.close()
    if as_json:
        from api.schemas import AskResponse

        print(AskResponse.of(result).model_dump_json(indent=2))
        return
    if result.no_answer:
        console.print("[bold yellow]No answer:[/bold yellow] the documents do not seem to contain one.")
        for p in result.passages[:3]:
            console.print(f"  you may look here: [cyan]{p.title}[/cyan] [{p.start}:{p.end}]")
        return
    for i, answer in enumerate(result.answers, start=1):
        c = answer.citation
        page = f", page {c.page}" if c.page else ""
        console.print(
            f"[bold]{i}. {answer.text}[/bold]  (score {answer.score:.2f}, confidence {answer.confidence:.0%})"
        )
        console.print(f"   source: [cyan]{c.title}[/cyan] ({c.doc_id}{page}, characters {c.start}-{c.end})")
        console.print(_marked_snippet(c.passage.text, c.answer_start, c.answer_end))
    console.print(f"[dim]{result.timings_ms['total']:.0f} ms[/dim]")


def _marked_snippet(text: str, start: int, end: int, context: int = 160) -> Text:
    """The passage around the answer, the answer marked (offsets, never a string search)."""
    left, right = max(0, start - context), min(len(text), end + context)
    snippet = Text("   " + ("…" if left else ""))
    snippet.append(text[left:start].replace("\n", " "))
    snippet.append(text[start:end], style="bold black on yellow")
    snippet.append(text[end:right].replace("\n", " "))
    if right < len(text):
        snippet.append("…")
    return snippet


@docs_app.command("list")
def docs_list(
    offset: int = 0, limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List indexed documents."""
    pipeline = _pipeline(read_only=True)
    try:
        docs = pipeline.list_documents(offset=offset, limit=limit)
        total = pipeline.store.count_documents()
    finally:
        pipeline.close()
    if as_json:
        print(json.dumps([d.__dict__ for d in docs], indent=2))
        return
    table = Table("id", "title", "chars", "chunks", "type", title=f"{total} documents")
    for d in docs:
        table.add_row(d.id, d.title, f"{d.chars:,}", str(d.chunks), d.content_type)
    console.print(table)


@docs_app.command("show")
def docs_show(doc_id: str) -> None:
    """Print a document's stored text."""
    pipeline = _pipeline(read_only=True)
    try:
        document = pipeline.get_document(doc_id)
    except SpanqaError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        pipeline.close()
    console.print(f"[bold]{document.title}[/bold] ({document.id}, {document.content_type})")
    print(document.text)


@docs_app.command("delete")
def docs_delete(doc_id: str) -> None:
    """Delete a document and its chunks."""
    pipeline = _pipeline()
    try:
        pipeline.delete(doc_id)
    except SpanqaError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    finally:
        pipeline.close()
    console.print(f"deleted {doc_id}")


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port")] = None,
    seed_if_empty: Annotated[bool, typer.Option(help="Index the seeds folder when the index is empty")] = False,
) -> None:
    """Serve the HTTP API and chat page."""
    import uvicorn

    from api.app import create_app

    settings: Settings = get_settings()
    pipeline = _pipeline()
    try:
        if seed_if_empty and pipeline.store.count_documents() == 0:
            files = _files_under([settings.seeds_dir])
            outcomes = ingest_files(pipeline, files)
            console.print(f"indexed {len(outcomes['added'])} seed documents from {settings.seeds_dir}")
        app_ = create_app(settings, pipeline=pipeline)
        uvicorn.run(app_, host=host or settings.host, port=port or settings.port)
    finally:
        pipeline.close()


def main() -> None:  # pragma: no cover
    sys.exit(app())
