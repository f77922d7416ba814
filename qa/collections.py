"""Collections: isolated sets of documents, each its own store (index.store.collections), one name each.

The functions serve the CLI (`spanqa collections ...`): they act on the data directory or database of
the settings. `CollectionRegistry` serves the HTTP API: one `Pipeline` per open collection, all sharing
one embedder, reader, reranker and micro-batcher; a collection made by another process (the CLI, another
replica) opens at its first use, and one deleted elsewhere is found gone (404) at its next use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from errors import CollectionNotFound, SpanqaError
from index.store import KeyStore, open_key_store
from index.store import collections as stored
from index.store.collections import DEFAULT_COLLECTION, check_collection_name
from index.store.collections import NAME_PATTERN as COLLECTION_NAME
from qa.pipeline import Pipeline
from qa.settings import Settings

logger = logging.getLogger("spanqa.collections")

__all__ = [
    "COLLECTION_NAME",
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


SWEEP_EVERY_S = 5.0
CLOSE_WAIT_S = 60.0


class CollectionRegistry:
    """The server's open collections. `default` is the pipeline it is built with; the others are opened
    on first use as `default.in_collection(name)`. `on_open` / `on_close` are told of every other
    collection opened and closed (the API runs a job runner per collection). Every `sweep_every_s` a
    thread closes the collections deleted elsewhere (another replica), so nothing of theirs runs on."""

    def __init__(
        self,
        default: Pipeline,
        key_store: KeyStore,
        *,
        settings: Settings | None = None,
        on_open: Callable[[Pipeline], object] | None = None,
        on_close: Callable[[Pipeline], object] | None = None,
        sweep_every_s: float | None = SWEEP_EVERY_S,
    ) -> None:
        if default.collection != DEFAULT_COLLECTION:
            raise ValueError(f"the registry is built on collection 'default', not {default.collection!r}")
        self.default = default
        self.settings = settings or default.settings
        self.key_store = key_store
        self._on_open = on_open or (lambda pipeline: None)
        self._on_close = on_close or (lambda pipeline: None)
        self._open: dict[str, Pipeline] = {}
        self._lock = threading.Lock()
        self._deleting: set[str] = set()
        self._users: dict[int, int] = {}  # id(pipeline) -> requests using it now (`using`)
        self._idle = threading.Condition(self._lock)
        self._stopped = threading.Event()
        self._sweeper: threading.Thread | None = None
        if sweep_every_s:
            self._sweeper = threading.Thread(
                target=self._sweep, args=(sweep_every_s,), name="spanqa-collections", daemon=True
            )
            self._sweeper.start()

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
                if name in self._deleting or not stored.collection_exists(
                    self.settings.data_dir, name, self.settings.database_url
                ):
                    raise CollectionNotFound(f"no collection {name!r}")
                pipeline = self._open[name] = self.default.in_collection(name)
                self._on_open(pipeline)
            return pipeline

    @contextmanager
    def using(self, name: str) -> Iterator[Pipeline]:
        """The collection's pipeline, kept open until the block ends: a delete (or a sweep) closing it
        meanwhile waits for the block, so a request never finds its store closed under it."""
        while True:
            pipeline = self.get(name)
            with self._lock:
                if pipeline is self.default or self._open.get(name) is pipeline:  # not closed since `get`
                    self._users[id(pipeline)] = self._users.get(id(pipeline), 0) + 1
                    break
        try:
            yield pipeline
        finally:
            with self._lock:
                if (left := self._users.pop(id(pipeline)) - 1) > 0:
                    self._users[id(pipeline)] = left
                else:
                    self._idle.notify_all()

    def open_all(self) -> None:
        """Opens every collection (a server starts its job runners); one that cannot open now (e.g.
        held by another process) is logged and tried again at its next use."""
        for name in self.names():
            try:
                self.get(name)
            except SpanqaError as error:
                logger.warning("collection %r is not open: %s", name, error)

    def info(self, name: str) -> CollectionInfo:
        with self.using(name) as pipeline:
            return CollectionInfo(name, pipeline.count_documents(), pipeline.count_chunks())

    def create(self, name: str) -> CollectionInfo:
        """Makes the collection and opens it (its tables or files are created now)."""
        create_collection(self.settings, name)
        return self.info(name)

    def delete(self, name: str) -> None:
        """Closes the collection here, deletes it with its documents, and takes it out of every key's list."""
        name = check_collection_name(name)
        with self._lock:  # `default` is never in `_open`; the drop refuses it (CollectionConflict)
            self._deleting.add(name)
            try:
                self._close(name)
                _drop(self.settings, name, self.key_store)
            finally:
                self._deleting.discard(name)

    def close_stale(self) -> list[str]:
        """Closes the open collections deleted (or deleted and made again) elsewhere; their names."""
        closed = []
        for name, pipeline in list(self._open.items()):
            try:
                current = pipeline.store_is_current()
            except Exception:  # noqa: BLE001 - e.g. the database is unreachable now: look again next time
                continue
            if not current:
                with self._lock:
                    if self._open.get(name) is pipeline:
                        self._close(name)
                        closed.append(name)
        return closed

    def _sweep(self, every_s: float) -> None:
        while not self._stopped.wait(every_s):
            if closed := self.close_stale():
                logger.info("closed collections deleted elsewhere: %s", ", ".join(closed))

    def _close(self, name: str) -> None:
        """(With the lock held.) New requests no longer get it; its job runner stops; those using it
        finish (up to CLOSE_WAIT_S), then its store closes."""
        pipeline = self._open.pop(name, None)
        if pipeline is not None:
            self._on_close(pipeline)
            self._idle.wait_for(lambda: id(pipeline) not in self._users, timeout=CLOSE_WAIT_S)
            pipeline.close()

    def close(self) -> None:
        """Closes every collection but `default` (whose owner closes it)."""
        self._stopped.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=30)
        with self._lock:
            for name in list(self._open):
                self._close(name)
