"""`spanqa index migrate --to URL|DIR`: copy the configured index into another backend (`index.store.migrate`)."""

from __future__ import annotations

from typing import Annotated

import typer

from errors import SpanqaError
from index.store.migrate import location_config, migrate_collections
from qa.settings import get_settings


def migrate_command(
    to: Annotated[str, typer.Option("--to", help="postgresql://… URL, or an SQLite + FAISS data directory")],
    batch_size: Annotated[int, typer.Option(help="documents per transaction in the target")] = 64,
) -> None:
    """Copy the configured index (SPANQA_DATABASE_URL, else SPANQA_DATA_DIR), every collection, into an
    empty index at --to: documents, pages, chunks and their vectors as they are (no re-embedding),
    then compare counts."""
    settings = get_settings()
    source = location_config(settings.database_url or settings.data_dir, index_type=settings.index_type)
    target = location_config(to, index_type=settings.index_type)
    try:
        reports = migrate_collections(
            source,
            target,
            batch_size=batch_size,
            progress=lambda name, done, total: typer.echo(f"\r{name}: {done}/{total} documents", nl=False, err=True),
        )
    except SpanqaError as exc:
        typer.echo(f"\nerror: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo("", err=True)
    for name, report in reports:
        typer.echo(
            f"{name}: copied {report.documents} documents, {report.chunks} chunks, {report.vectors} vectors,"
            f" {report.feedback} feedback"
            f" ({report.model_name}, dimension {report.dimension}) from {report.source} to {report.target}"
            f" in {report.seconds:.1f} s; counts match"
        )
