"""`spanqa keys create|list|revoke`: works while a server runs on the same data directory (the keys
live in their own SQLite file, index.store.sqlite_keys), and a running server honours changes at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, error, plain
from errors import SpanqaError
from qa.audit import AuditLog
from qa.keys import ROLES, KeyService
from qa.settings import get_settings

keys_app = typer.Typer(help="Create, list and revoke API keys (roles: reader < writer < admin).", no_args_is_help=True)
CLI_ACTOR = "cli"


def _services() -> tuple[KeyService, AuditLog]:
    from functools import partial

    from index.store import open_key_store
    from qa.collections import collection_exists

    settings = get_settings()
    store = open_key_store(settings.data_dir, database_url=settings.database_url)
    return KeyService(store, partial(collection_exists, settings)), AuditLog(store)


def _when(at: float | None) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else ""


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what holds the key")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}")] = "reader",
    collection: Annotated[
        list[str] | None,
        typer.Option(
            "--collection", help="A collection the key may use (repeatable; * = every one; default: default, admins *)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"id","name","role","collections","key"}')] = False,
) -> None:
    """Create a key and print it: this is the only time it is shown."""
    keys, audit = _services()
    try:
        new = keys.create(name, role, collection or None)
    except SpanqaError as exc:
        error(exc)
        raise typer.Exit(2) from None
    audit.record(CLI_ACTOR, "key.create", f"{new.record.id} ({new.record.role})")
    record = new.record
    if as_json:
        fields = {"id": record.id, "name": record.name, "role": record.role, "collections": list(record.collections)}
        print(json.dumps({**fields, "key": new.key}))
        return
    console.print(plain(f"created {record.role} key {record.id} ({record.name}); it is shown only this once:"))
    print(new.key)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List keys (never the keys themselves)."""
    keys, _ = _services()
    records = keys.list()
    if as_json:
        rows = [
            {
                "id": k.id,
                "name": k.name,
                "role": k.role,
                "collections": list(k.collections),
                "created_at": k.created_at,
                "revoked_at": k.revoked_at,
            }
            for k in records
        ]
        print(json.dumps(rows))
        return
    table = Table("id", "name", "role", "collections", "created", "revoked")
    for k in records:
        table.add_row(k.id, plain(k.name), k.role, ", ".join(k.collections), _when(k.created_at), _when(k.revoked_at))
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `spanqa keys list`)")]) -> None:
    """Revoke a key: a running server refuses it from its next request."""
    keys, audit = _services()
    if not keys.revoke(key_id):
        error(f"no active key {key_id!r}")
        raise typer.Exit(1)
    audit.record(CLI_ACTOR, "key.revoke", key_id)
    console.print(plain(f"revoked {key_id}"))
