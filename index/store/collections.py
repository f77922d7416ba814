"""Collections: isolated stores side by side. Names, where each lives, and list / create / drop.

- sqlite-faiss: `default` is the data directory itself; any other is `<data_dir>/collections/<name>/`.
- postgres: `default` is schema `public`; any other is schema `spanqa_c_<name>` (postgres_collections).
- memory: one MemoryStore per name (nothing outlives the process: these functions know only `default`).

Plain arguments only (the data directory, the database URL): `qa.collections` decides from the settings.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import filelock

from errors import CollectionConflict, CollectionNotFound, InvalidRequest
from index.store.sqlite_connections import LOCK_FILE
from index.store.sqlite_db import DB_FILE

DEFAULT_COLLECTION = "default"
COLLECTIONS_FOLDER = "collections"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class CollectionCounts:
    name: str
    documents: int
    chunks: int


def check_collection_name(name: object) -> str:
    """`name` when it is a collection name (lowercase letters, digits, `_` and `-`, 1 to 40, starting
    with a letter or digit); InvalidRequest otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidRequest(
            f"{name!r} is not a collection name: 1 to 40 of a-z, 0-9, '_' and '-', starting with a letter or digit"
        )
    return name


def collection_dir(data_dir: Path, name: str) -> Path:
    """Where an SQLite + FAISS collection lives."""
    name = check_collection_name(name)
    return Path(data_dir) if name == DEFAULT_COLLECTION else Path(data_dir) / COLLECTIONS_FOLDER / name


def list_collections(data_dir: Path, database_url: str | None = None) -> list[str]:
    """The names of the collections, sorted; `default` always among them."""
    if database_url:
        from index.store.postgres_collections import list_schemas

        return sorted({DEFAULT_COLLECTION, *list_schemas(database_url)})
    folder = Path(data_dir) / COLLECTIONS_FOLDER
    found = [p.name for p in folder.iterdir() if p.is_dir() and NAME_PATTERN.match(p.name)] if folder.is_dir() else []
    return sorted({DEFAULT_COLLECTION, *found})


def collection_exists(data_dir: Path, name: str, database_url: str | None = None) -> bool:
    name = check_collection_name(name)
    if name == DEFAULT_COLLECTION:
        return True
    if database_url:
        from index.store.postgres_collections import schema_oid

        return schema_oid(database_url, name) is not None
    return collection_dir(data_dir, name).is_dir()


def create_collection(data_dir: Path, name: str, database_url: str | None = None) -> None:
    """Make an empty collection (its tables or files are created when it is first opened for writing);
    CollectionConflict when it exists."""
    name = check_collection_name(name)
    if name == DEFAULT_COLLECTION:
        raise CollectionConflict(f"collection {name!r} exists")
    if database_url:
        from index.store.postgres_collections import create_schema

        create_schema(database_url, name)
        return
    folder = collection_dir(data_dir, name)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir()
    except FileExistsError:
        raise CollectionConflict(f"collection {name!r} exists") from None


def drop_collection(data_dir: Path, name: str, database_url: str | None = None) -> None:
    """Delete a collection with everything in it. CollectionNotFound when there is none,
    CollectionConflict for `default` or (SQLite) while another process has it open for writing."""
    name = check_collection_name(name)
    if name == DEFAULT_COLLECTION:
        raise CollectionConflict("collection 'default' cannot be deleted")
    if database_url:
        from index.store.postgres_collections import drop_schema

        drop_schema(database_url, name)
        return
    folder = collection_dir(data_dir, name)
    if not folder.is_dir():
        raise CollectionNotFound(f"no collection {name!r}")
    lock = filelock.FileLock(folder / LOCK_FILE, timeout=0, thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise CollectionConflict(f"collection {name!r} is open in another spanqa process; stop it first") from None
    try:
        doomed = folder.with_name(f".deleting-{name}")  # gone from listings at once, then removed
        shutil.rmtree(doomed, ignore_errors=True)
        folder.rename(doomed)
    finally:
        lock.release()
    shutil.rmtree(doomed, ignore_errors=True)


def collection_counts(data_dir: Path, name: str, database_url: str | None = None) -> CollectionCounts:
    """Documents and chunks of a collection, read without opening its store (0 before its first write)."""
    name = check_collection_name(name)
    if database_url:
        from index.store.postgres_collections import schema_counts

        documents, chunks = schema_counts(database_url, name)
        return CollectionCounts(name, documents, chunks)
    if not collection_exists(data_dir, name):
        raise CollectionNotFound(f"no collection {name!r}")
    db_path = collection_dir(data_dir, name) / DB_FILE
    if not db_path.is_file():
        return CollectionCounts(name, 0, 0)
    conn = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    except sqlite3.OperationalError:  # created, never written
        return CollectionCounts(name, 0, 0)
    finally:
        conn.close()
    return CollectionCounts(name, int(documents), int(chunks))
