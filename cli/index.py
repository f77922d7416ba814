"""`spanqa index check|rebuild`: check the index, or re-embed it with the configured model."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from cli.common import console, err_console, error, printable
from errors import SpanqaError
from qa.migrate_command import migrate_command
from qa.settings import Settings, get_settings
from qa.wiring import index_exists, make_embedder, open_configured_store

index_app = typer.Typer(help="Check the index, or re-embed it with the configured model.", no_args_is_help=True)


def _no_index_yet(settings: Settings) -> bool:
    if index_exists(settings):
        return False
    where = f"collection {settings.collection!r} of " if settings.collection != "default" else ""
    error(f"no index in {where}{settings.data_dir} yet: ingest some documents first")
    return True


def _location(settings: Settings) -> str:
    if settings.database_url:
        from index.store.postgres import redacted

        return redacted(settings.database_url)
    return str(settings.data_dir)


@index_app.command("check")
def index_check(as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False) -> None:
    """Check the index (read-only, so it runs beside a server): FAISS against SQLite, SQLite's own
    integrity, every chunk against its document's text, and the embedding model against the settings.
    Prints the counts; exit status 1 when anything is wrong."""
    settings = get_settings()
    if _no_index_yet(settings):
        raise typer.Exit(2)
    embedder = make_embedder(settings)
    try:
        store: Any = open_configured_store(settings, embedder, read_only=True, check_model=False)
    except SpanqaError as exc:
        error(exc)
        raise typer.Exit(1) from None
    try:
        problems: list[str] = store.verify()
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
            "generation": store.generation() if hasattr(store, "generation") else None,  # none on PostgreSQL
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
        table = Table("", "", title=f"index in {_location(settings)}", show_header=False)
        for key in ("embedding_model", "dimension", "index_type", "documents", "chunks", "vectors", "generation"):
            table.add_row(key.replace("_", " "), Text(printable(str(report[key]), newlines=False)))
        console.print(table)
        for problem in problems:
            console.print(Text.assemble(("problem:", "red"), " ", printable(problem)), highlight=False)
        if not problems:
            agree = "" if settings.database_url else "FAISS and SQLite agree, and "
            console.print(f"[green]ok:[/green] {agree}every chunk slices its document's text")
    if problems:
        raise typer.Exit(1)


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Re-embed every chunk with the configured embedding model (after changing it, or when the index
    was built with another one). Vectors are computed first; the switch is one transaction."""
    settings = get_settings()
    if _no_index_yet(settings):
        raise typer.Exit(2)
    embedder = make_embedder(settings)
    try:
        store: Any = open_configured_store(settings, embedder, check_model=False)
    except SpanqaError as exc:
        error(exc)
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

            def embed(texts: list[str]) -> np.ndarray:
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
        markup=False,
    )


index_app.command(
    "migrate", help="Copy the configured index into another backend: --to postgresql://… or a directory."
)(migrate_command)
