"""The `spanqa` command line: the same pipeline as the API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from transformers.utils import logging as hf_logging

from errors import IndexLocked, SpanqaError
from qa.settings import Settings, get_settings

app = typer.Typer(
    help="spanqa: extractive question answering over your documents, with exact citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
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
        if isinstance(exc, IndexLocked):
            err_console.print(
                "hint: while `spanqa serve` runs on this data directory, add and delete documents "
                "through its HTTP API (POST/DELETE /documents)"
            )
        raise typer.Exit(2) from None


def ingest_with_progress(pipeline, paths: list[Path], include=(), exclude=(), show_progress: bool = True):
    """`ingest_discovered` with progress on stderr: a bar on a terminal, else a line per file."""
    from index.loaders import is_supported
    from index.sources import discover
    from qa.ingest_folder import ingest_discovered

    found = discover(paths, include=include, exclude=exclude, supported=is_supported)
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

        def on_file(source) -> None:
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


def _print_summary(summary, verbose: bool) -> None:
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


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to index (folders recursively)")],
    include: Annotated[
        Optional[list[str]],
        typer.Option("--include", "-i", help="Only files matching this glob (repeatable), e.g. '*.pdf' or 'reports/*'"),
    ] = None,
    exclude: Annotated[
        Optional[list[str]],
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
    pipeline = _pipeline()
    try:
        summary = ingest_with_progress(pipeline, paths, include or (), exclude or ())
    except SpanqaError as exc:
        err_console.print(f"[red]error:[/red] the ingest stopped: {exc}")
        raise typer.Exit(2) from None
    finally:
        pipeline.close()
    if as_json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        _print_summary(summary, verbose)
    if summary.of("failed"):
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question")],
    top_k: Annotated[Optional[int], typer.Option(help="Passages to read")] = None,
    max_answers: Annotated[Optional[int], typer.Option(help="Answers to show")] = None,
    retrieval: Annotated[Optional[str], typer.Option(help="dense, bm25 or hybrid (default: SPANQA_RETRIEVAL)")] = None,
    rerank: Annotated[
        Optional[bool], typer.Option("--rerank/--no-rerank", help="Cross-encoder reranking (default: SPANQA_RERANK)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's response JSON")] = False,
) -> None:
    """Ask a question; prints the answer with its citation."""
    if retrieval is not None and retrieval not in ("dense", "bm25", "hybrid"):
        err_console.print("[red]error:[/red] --retrieval must be dense, bm25 or hybrid")
        raise typer.Exit(2)
    pipeline = _pipeline(read_only=True)
    try:
        result = pipeline.ask(
            question,
            top_k=top_k,
            max_answers=max_answers,
            retrieval=retrieval,
            rerank=rerank,  # type: ignore[arg-type]
        )
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
    offset: int = 0,
    limit: int = 50,
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


index_app = typer.Typer(help="Check the index, or re-embed it with the configured model.", no_args_is_help=True)
app.add_typer(index_app, name="index")


def _no_index_yet(settings: Settings) -> bool:
    from index.store import DB_FILE

    if (settings.data_dir / DB_FILE).exists():
        return False
    err_console.print(f"[red]error:[/red] no index in {settings.data_dir} yet: ingest some documents first")
    return True


@index_app.command("check")
def index_check(as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False) -> None:
    """Check the index (read-only, so it runs beside a server): FAISS against SQLite, SQLite's own
    integrity, every chunk against its document's text, and the embedding model against the settings.
    Prints the counts; exit status 1 when anything is wrong."""
    from index.store import FaissSqliteStore
    from qa.pipeline import make_embedder

    settings = get_settings()
    if _no_index_yet(settings):
        raise typer.Exit(2)
    embedder = make_embedder(settings)
    try:
        store = FaissSqliteStore(
            settings.data_dir,
            dimension=embedder.dimension,
            model_name=embedder.identity,
            index_type=settings.index_type,
            read_only=True,
            _check_model=False,
        )
    except SpanqaError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    try:
        problems = store.verify()
        report = {
            "data_dir": str(settings.data_dir),
            "embedding_model": store.model_name,
            "dimension": store.dimension,
            "configured_model": embedder.identity,
            "configured_dimension": embedder.dimension,
            "index_type": store.index_type,
            "documents": store.count_documents(),
            "chunks": store.count_chunks(),
            "vectors": store.count_vectors(),
            "generation": store.generation(),
            "problems": problems,
        }
    finally:
        store.close()
    if (store.model_name, store.dimension) != (embedder.identity, embedder.dimension):
        problems.append(
            f"the index was built with {store.model_name!r} (dimension {store.dimension}) but the configured model "
            f"is {embedder.identity!r} (dimension {embedder.dimension}): run `spanqa index rebuild`"
        )
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        table = Table("", "", title=f"index in {settings.data_dir}", show_header=False)
        for key in ("embedding_model", "dimension", "index_type", "documents", "chunks", "vectors", "generation"):
            table.add_row(key.replace("_", " "), str(report[key]))
        console.print(table)
        for problem in problems:
            console.print(f"[red]problem:[/red] {problem}", highlight=False)
        if not problems:
            console.print("[green]ok:[/green] FAISS and SQLite agree, and every chunk slices its document's text")
    if problems:
        raise typer.Exit(1)


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Re-embed every chunk with the configured embedding model (after changing it, or when the index
    was built with another one). Vectors are computed first; the switch is one transaction."""
    import time

    from index.store import FaissSqliteStore
    from qa.pipeline import make_embedder

    settings = get_settings()
    if _no_index_yet(settings):
        raise typer.Exit(2)
    embedder = make_embedder(settings)
    try:
        store = FaissSqliteStore.open_for_rebuild(
            settings.data_dir,
            model_name=embedder.identity,
            dimension=embedder.dimension,
            index_type=settings.index_type,
        )
    except SpanqaError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    started = time.perf_counter()
    try:
        before = f"{store.model_name} (dimension {store.dimension})"
        total = store.count_chunks()
        with Progress(
            TextColumn("re-embedding"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
            disable=not err_console.is_terminal,
        ) as progress:
            task = progress.add_task("re-embedding", total=total)

            def embed(texts: list[str]):
                vectors = embedder.encode(texts)
                progress.advance(task, len(texts))
                return vectors

            store.rebuild_vectors(embedder.identity, embedder.dimension, embed)
    finally:
        store.close()
    console.print(
        f"re-embedded {total:,} chunks with {embedder.identity} (dimension {embedder.dimension}) in "
        f"{time.perf_counter() - started:.1f} s; the index was built with {before}",
        highlight=False,
    )


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port")] = None,
    seed_if_empty: Annotated[bool, typer.Option(help="Index the seeds folder when the index is empty")] = False,
) -> None:
    """Serve the HTTP API and chat page."""
    import uvicorn

    from api.app import create_app
    from api.auth import refusal_to_serve
    from api.request_log import configure_logging

    settings: Settings = get_settings()
    settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
    refusal = refusal_to_serve(settings)
    if refusal:
        err_console.print(f"[red]error:[/red] {refusal}", highlight=False)
        raise typer.Exit(2)
    configure_logging(settings.log_format)
    pipeline = _pipeline()
    try:
        if seed_if_empty and pipeline.store.count_documents() == 0:
            summary = ingest_with_progress(pipeline, [settings.seeds_dir])
            console.print(f"indexed {len(summary.of('added'))} seed documents from {settings.seeds_dir}")
        app_ = create_app(settings, pipeline=pipeline)
        uvicorn.run(
            app_, host=settings.host, port=settings.port, log_config=None, access_log=False
        )  # api.request_log logs each request
    finally:
        pipeline.close()


from qa.calibration_cli import calibrate_command  # noqa: E402
from qa.eval.cli import eval_command  # noqa: E402
from qa.keys_cli import keys_app  # noqa: E402
from train.command import reader_app, train_reader_command  # noqa: E402

app.command("eval", help="Evaluate on SQuAD-format data: EM/F1, recall@k, oracle, latency; writes reports.")(
    eval_command
)
app.command("calibrate", help="Fit the confidence calibrator on labelled questions; writes it beside the index.")(
    calibrate_command
)
app.command("train-reader", help="Fine-tune an extractive reader on SQuAD-format data.")(train_reader_command)
app.add_typer(reader_app, name="reader")
app.add_typer(keys_app, name="keys")


def main() -> None:  # pragma: no cover
    sys.exit(app())
