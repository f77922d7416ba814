"""`spanqa collections create|list|delete`, and the root `--collection NAME` option every command honours."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from cli.common import console, error, plain, printable
from errors import SpanqaError
from qa.collections import (
    DEFAULT_COLLECTION,
    check_collection_name,
    collection_exists,
    create_collection,
    delete_collection,
    list_collections,
)
from qa.settings import get_settings

collections_app = typer.Typer(
    help="Create, list and delete collections: isolated sets of documents, each with its own index.",
    no_args_is_help=True,
)

CollectionOption = Annotated[
    str | None,
    typer.Option(
        "--collection",
        metavar="NAME",
        help="The collection to act on (default: SPANQA_COLLECTION, else 'default'); "
        "create one with `spanqa collections create NAME`.",
        show_default=False,
    ),
]


def use_collection(name: str | None, *, must_exist: bool) -> None:
    """Makes `name` (when given) the collection of every command in this process (Settings.collection), after
    checking it; with `must_exist`, the collection in effect must exist. A bad name: message and exit 2."""
    if name is None and not must_exist:
        return
    try:
        if name is not None:
            os.environ["SPANQA_COLLECTION"] = check_collection_name(name)
            get_settings.cache_clear()
        settings = get_settings()
        if must_exist and check_collection_name(settings.collection) != DEFAULT_COLLECTION:
            if not collection_exists(settings, settings.collection):
                error(
                    f"no collection {settings.collection!r}: create it with "
                    f"`spanqa collections create {settings.collection}` (see `spanqa collections list`)"
                )
                raise typer.Exit(2)
    except ValidationError as exc:  # the settings: e.g. a bad SPANQA_COLLECTION
        error("; ".join(f"SPANQA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()))
        raise typer.Exit(2) from None
    except SpanqaError as exc:
        error(exc)
        raise typer.Exit(2) from None


@collections_app.command("create")
def collections_create(
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits, - and _ (up to 40)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the new collection as JSON")] = False,
) -> None:
    """Create an empty collection; add documents with `spanqa --collection NAME ingest PATH`."""
    try:
        info = create_collection(get_settings(), name)
    except SpanqaError as exc:
        error(exc)
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(asdict(info)))
        return
    console.print(Text(printable(f"created collection {info.name}", newlines=False)))


@collections_app.command("list")
def collections_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the collections as JSON")] = False,
) -> None:
    """List the collections with their document and chunk counts."""
    try:
        infos = list_collections(get_settings())
    except SpanqaError as exc:
        error(exc)
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps([asdict(i) for i in infos], indent=2))
        return
    table = Table("name", "documents", "chunks", title=f"{len(infos)} collections")
    for i in infos:
        table.add_row(plain(i.name), f"{i.documents:,}", f"{i.chunks:,}")
    console.print(table)


@collections_app.command("delete")
def collections_delete(
    name: Annotated[str, typer.Argument(help="The collection to delete, with all its documents")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a collection and every document, job and feedback record in it (not `default`)."""
    settings = get_settings()
    if not yes:
        typer.confirm(f"Delete collection {name!r} and every document in it?", abort=True, err=True)
    try:
        delete_collection(settings, name)
    except SpanqaError as exc:
        error(exc)
        raise typer.Exit(1) from None
    console.print(Text(printable(f"deleted collection {name}", newlines=False)))
