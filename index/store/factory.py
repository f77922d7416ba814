"""The one place a store is built: `open_store(config)` picks the backend and opens it.

`index` knows nothing about settings: the composition root turns the settings into a `StoreConfig`
and calls `open_store`; nothing else constructs a store. Each backend records its name in the index
it creates and refuses to open an index of another backend.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from errors import CollectionNotFound
from index.store.collections import DEFAULT_COLLECTION, check_collection_name, collection_dir
from index.store.faiss_index import IndexType
from index.store.protocol import KeyStore, Store

Backend = Literal["sqlite-faiss", "memory", "postgres"]
BACKENDS: tuple[Backend, ...] = ("sqlite-faiss", "memory", "postgres")


@dataclass(frozen=True)
class StoreConfig:
    """What a store needs to open: where it lives and which embedding model its vectors come from."""

    data_dir: Path
    dimension: int
    model_name: str
    backend: Backend = "sqlite-faiss"
    index_type: IndexType = "flat"
    read_only: bool = False
    database_url: str | None = None
    check_model: bool = True  # False: open whatever model the index holds (to rebuild its vectors)
    # PostgreSQL (`database_url` set, or backend "postgres"): pool size and pgvector HNSW parameters
    # (m and ef_construction apply when the index is created; ef_search to every search).
    pool_size: int = 8
    hnsw_m: int = 16
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 200
    # Which collection (index.store.collections): its own directory under data_dir, or its own schema.
    collection: str = "default"

    @property
    def chosen_backend(self) -> Backend:
        """ "postgres" whenever a database URL is given, else `backend`."""
        return "postgres" if self.database_url else self.backend


def open_store(config: StoreConfig) -> Store:
    """Open (or create) the store `config` describes; its keyword search is `store.keyword`. A collection
    other than `default` must have been created (index.store.collections), else CollectionNotFound."""
    check_collection_name(config.collection)
    if config.chosen_backend == "postgres":
        if not config.database_url:
            raise ValueError("the postgres store backend needs a database_url (postgresql://...)")
        from index.store.postgres import PostgresStore

        return PostgresStore(
            config.database_url,
            dimension=config.dimension,
            model_name=config.model_name,
            read_only=config.read_only,
            pool_size=config.pool_size,
            hnsw_m=config.hnsw_m,
            hnsw_ef_construction=config.hnsw_ef_construction,
            hnsw_ef_search=config.hnsw_ef_search,
            check_model=config.check_model,
            collection=config.collection,
        )
    if config.backend == "memory":
        from index.store.memory import MemoryStore

        return MemoryStore(dimension=config.dimension, model_name=config.model_name)
    if config.backend != "sqlite-faiss":
        raise ValueError(f"unknown store backend {config.backend!r}; use one of {', '.join(BACKENDS)}")
    from index.store.sqlite_faiss import FaissSqliteStore

    directory = collection_dir(config.data_dir, config.collection)
    if config.collection != DEFAULT_COLLECTION and not directory.is_dir():
        raise CollectionNotFound(f"no collection {config.collection!r} in {config.data_dir}")
    store = FaissSqliteStore(
        directory,
        dimension=config.dimension,
        model_name=config.model_name,
        index_type=config.index_type,
        read_only=config.read_only,
        _check_model=config.check_model,
    )
    if not config.read_only:  # the bm25s files of schema 1; the keyword index is in SQLite now
        shutil.rmtree(directory / "bm25", ignore_errors=True)
    return store


def open_key_store(data_dir: Path, backend: Backend = "sqlite-faiss", database_url: str | None = None) -> KeyStore:
    """The API keys and audit log of the store at `data_dir` (or in the database at `database_url`,
    shared by every replica): writable while a server holds the index."""
    if database_url:
        from index.store.postgres_keys import PostgresKeyStore

        return PostgresKeyStore(database_url)
    if backend == "memory":
        from index.store.memory_keys import MemoryKeyStore

        return MemoryKeyStore()
    from index.store.sqlite_keys import SqliteKeyStore

    return SqliteKeyStore(Path(data_dir))
