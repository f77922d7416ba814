"""Collections: isolated sets of documents, each its own store (index.store.collections), one name each.

The functions serve the CLI (`spanqa collections ...`): they act on the data directory or database of
the settings. `CollectionRegistry` serves the HTTP API: one `Pipeline` per open collection, all sharing
one embedder, reader, reranker and micro-batcher; a collection made by another process (the CLI, another
replica) opens at its first use, and one deleted elsewhere is found gone (404) at its next use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from errors import CollectionConflict, CollectionNotFound, SpanqaError
from index.store import KeyStore, open_key_store
from index.store import collections as stored
from index.store.collections import DEFAULT_COLLECTION, check_collection_name
from qa.pipeline import Pipeline
from qa.settings import Settings

logger = logging.getLogger("spanqa.collections")

__all__ = [
    "DEFAULT_COLLECTION",
    "CollectionInfo",
    "CollectionRegistry",
    "check_collection_name",
    "collection_exists",
    "create_collection",
    "delete_collection",
    "list_collections",
]


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    documents: int
    chunks: int


def collection_exists(settings: Settings, name: str) -> bool:
    return stored.collection_exists(settings.data_dir, check_collection_name(name), settings.database_url)


def list_collections(settings: Settings) -> list[CollectionInfo]:
    """Every collection with its counts, sorted by name (`default` always among them)."""
    infos = []
    for name in stored.list_collections(settings.data_dir, settings.database_url):
        try:
            counts = stored.collection_counts(settings.data_dir, name, settings.database_url)
        except CollectionNotFound:  # deleted meanwhile
            continue
        infos.append(CollectionInfo(counts.name, counts.documents, counts.chunks))
    return infos


def create_collection(settings: Settings, name: str) -> CollectionInfo:
    """A new, empty collection (CollectionConflict if it exists, InvalidRequest for a bad name)."""
    stored.create_collection(settings.data_dir, check_collection_name(name), settings.database_url)
    return CollectionInfo(name, 0, 0)


def delete_collection(settings: Settings, name: str) -> None:
    """Deletes a collection and everything in it, and takes it out of every API key's list, so a
    collection made again under this name starts with no key but admins and `*` keys.
    CollectionNotFound when there is none, CollectionConflict for `default`."""
    _drop(settings, name, open_key_store(settings.data_dir, database_url=settings.database_url))


def _drop(settings: Settings, name: str, keys: KeyStore) -> None:
    stored.drop_collection(settings.data_dir, check_collection_name(name), settings.database_url)
    keys.remove_collection(name)


class CollectionRegistry:
    """The server's open collections. `default` is the pipeline it is built with; the others are opened
    on first use as `default.in_collection(name)`. `on_open` / `on_close` are told of every other
    collection opened and closed (the API runs a job runner per collection)."""

    def __init__(
        self,
        default: Pipeline,
        key_store: KeyStore,
        *,
        settings: Settings | None = None,
        on_open: Callable[[Pipeline], object] | None = None,
        on_close: Callable[[Pipeline], object] | None = None,
    ) -> None:
        self.default = default
        self.settings = settings or default.settings
        self.key_store = key_store
        self._on_open = on_open or (lambda pipeline: None)
        self._on_close = on_close or (lambda pipeline: None)
        self._open: dict[str, Pipeline] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """Every collection's name, sorted (also those not open here yet)."""
        return stored.list_collections(self.settings.data_dir, self.settings.database_url)

    def open_pipelines(self) -> dict[str, Pipeline]:
        """The collections open here now, by name."""
        with self._lock:
            return {DEFAULT_COLLECTION: self.default, **self._open}

    def get(self, name: str) -> Pipeline:
        """The collection's pipeline (CollectionNotFound when there is none, InvalidRequest for a bad name)."""
        name = check_collection_name(name)
        if name == DEFAULT_COLLECTION:
            return self.default
        pipeline = self._open.get(name)
        if pipeline is not None and pipeline.store_is_current():
            return pipeline
        with self._lock:
            if self._open.get(name) is pipeline and pipeline is not None:  # deleted (maybe made again) elsewhere
                self._close(name)
            pipeline = self._open.get(name)
            if pipeline is None:
                if not stored.collection_exists(self.settings.data_dir, name, self.settings.database_url):
                    raise CollectionNotFound(f"no collection {name!r}")
                pipeline = self._open[name] = self.default.in_collection(name)
                self._on_open(pipeline)
            return pipeline

    def open_all(self) -> None:
        """Opens every collection (a server starts its job runners); one that cannot open now (e.g.
        held by another process) is logged and tried again at its next use."""
        for name in self.names():
            try:
                self.get(name)
            except SpanqaError as error:
                logger.warning("collection %r is not open: %s", name, error)

    def info(self, name: str) -> CollectionInfo:
        pipeline = self.get(name)
        return CollectionInfo(name, pipeline.count_documents(), pipeline.count_chunks())

    def create(self, name: str) -> CollectionInfo:
        """Makes the collection and opens it (its tables or files are created now)."""
        stored.create_collection(self.settings.data_dir, check_collection_name(name), self.settings.database_url)
        return self.info(name)

    def delete(self, name: str) -> None:
        """Closes the collection here, deletes it with its documents, and takes it out of every key's list."""
        name = check_collection_name(name)
        if name == DEFAULT_COLLECTION:
            raise CollectionConflict("collection 'default' cannot be deleted")
        with self._lock:
            self._close(name)
            _drop(self.settings, name, self.key_store)

    def _close(self, name: str) -> None:
        pipeline = self._open.pop(name, None)
        if pipeline is not None:
            self._on_close(pipeline)
            pipeline.close()

    def close(self) -> None:
        """Closes every collection but `default` (whose owner closes it)."""
        with self._lock:
            for name in list(self._open):
                self._close(name)
