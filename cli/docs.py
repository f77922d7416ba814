"""`spanqa docs list|show|delete`: the indexed documents."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cli.common import console, error, open_pipeline, plain, printable
from errors import SpanqaError

docs_app = typer.Typer(help="List, show and delete indexed documents.", no_args_is_help=True)


@docs_app.command("list")
def docs_list(
    offset: int = 0,
    limit: int = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List indexed documents."""
    pipeline = open_pipeline(read_only=True)
    try:
        docs = pipeline.list_documents(offset=offset, limit=limit)
        total = pipeline.count_documents()
    finally:
        pipeline.close()
    if as_json:
        print(json.dumps([asdict(d) for d in docs], indent=2))
        return
    table = Table("id", "title", "chars", "chunks", "type", title=f"{total} documents")
    for d in docs:
        table.add_row(plain(d.id), plain(d.title), f"{d.chars:,}", str(d.chunks), plain(d.content_type))
    console.print(table)


@docs_app.command("show")
def docs_show(doc_id: str) -> None:
    """Print a document's stored text (control characters shown as escapes)."""
    pipeline = open_pipeline(read_only=True)
    try:
        document = pipeline.get_document(doc_id)
    except SpanqaError as exc:
        error(exc)
        raise typer.Exit(1) from None
    finally:
        pipeline.close()
    console.print(Text.assemble(plain(document.title, "bold"), printable(f" ({document.id}, {document.content_type})")))
    print(printable(document.text))


@docs_app.command("delete")
def docs_delete(doc_id: str) -> None:
    """Delete a document and its chunks."""
    pipeline = open_pipeline()
    try:
        pipeline.delete(doc_id)
    except SpanqaError as exc:
        error(exc)
        raise typer.Exit(1) from None
    finally:
        pipeline.close()
    console.print(Text(printable(f"deleted {doc_id}", newlines=False)))
