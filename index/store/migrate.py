"""Copy an index from one store backend to another (SQLite + FAISS <-> PostgreSQL, or any pair).

Documents (text, pages, metadata, source, hash, creation time), their chunks with their offsets and
pages, and the chunks' vectors are copied as they are (nothing is re-embedded), in batches of
documents, each batch one transaction in the target; then the feedback, oldest first (numbered anew). The target records the source's embedding
model and must be empty; at the end the documents, chunks and vectors are counted on both sides.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from errors import IndexCorrupt, IndexError_
from index.store.factory import StoreConfig, open_store
from index.store.protocol import Feedback, Store
from index.types import Chunk, Document


@dataclass(frozen=True)
class MigrationReport:
    source: str
    target: str
    model_name: str
    dimension: int
    documents: int
    chunks: int
    vectors: int
    seconds: float
    feedback: int = 0


def location_config(location: str | Path, *, index_type: str = "flat") -> StoreConfig:
    """A store config for `location`: a `postgresql://` URL, else an SQLite + FAISS data directory.
    Its model is whatever the index holds (`check_model=False`); `migrate` uses the source's."""
    text = str(location)
    is_url = text.startswith(("postgresql://", "postgres://"))
    return StoreConfig(
        Path("." if is_url else text),
        dimension=0,
        model_name="",
        index_type=index_type,  # type: ignore[arg-type]
        database_url=text if is_url else None,
        check_model=False,
    )


def describe(config: StoreConfig) -> str:
    if config.database_url:
        from index.store.postgres import redacted

        return redacted(config.database_url)
    return str(config.data_dir)


def _documents(source: Store, page: int) -> Iterator[list[str]]:
    offset = 0
    while ids := [info.id for info in source.list_documents(offset=offset, limit=page)]:
        yield ids
        offset += len(ids)


def document_item(source: Store, doc_id: str) -> tuple[Document, list[Chunk], np.ndarray] | None:
    """A stored document as `add` takes it: the document, its chunks (without ids) and their vectors."""
    document = source.get_document(doc_id)
    if document is None:
        return None  # deleted meanwhile
    chunks = source.chunks_of(doc_id)
    vectors = source.chunk_vectors([c.id for c in chunks if c.id is not None])
    if len(vectors) != len(chunks):
        raise IndexCorrupt(f"document {doc_id!r}: {len(chunks) - len(vectors)} chunks have no stored vector")
    matrix = (
        np.stack([vectors[c.id] for c in chunks if c.id is not None]) if chunks else np.zeros((0, source.dimension))
    )
    return document, [replace(c, id=None) for c in chunks], matrix.astype(np.float32)


def copy_feedback(source: Store, target: Store, page: int = 500) -> int:
    """Every feedback record of the source into the target, oldest first (ids are the target's own)."""
    records: list[Feedback] = []
    while batch := source.feedback.list_page(len(records), page):
        records.extend(batch)
    for record in reversed(records):
        target.feedback.add(replace(record, id=0))
    return len(records)


def migrate(
    source_config: StoreConfig,
    target_config: StoreConfig,
    *,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> MigrationReport:
    """Copy every document of the source index into the (empty) target; `progress(done, total)`."""
    started = time.perf_counter()
    source = open_store(replace(source_config, read_only=True, check_model=False))
    try:
        config = replace(target_config, model_name=source.model_name, dimension=source.dimension, read_only=False)
        if config.chosen_backend == "sqlite-faiss":
            Path(config.data_dir).mkdir(parents=True, exist_ok=True)
        target = open_store(config)
        try:
            if target.count_documents():
                raise IndexError_(f"the target {describe(config)} already holds documents: migrate into an empty one")
            total, done = source.count_documents(), 0
            for ids in _documents(source, batch_size):
                items = [item for item in (document_item(source, doc_id) for doc_id in ids) if item is not None]
                target.add_many(items)
                done += len(items)
                if progress:
                    progress(done, total)
            counts = (source.count_documents(), source.count_chunks(), source.count_vectors())
            copied = (target.count_documents(), target.count_chunks(), target.count_vectors())
            if copied != counts:
                raise IndexCorrupt(
                    f"copied documents, chunks, vectors {copied} differ from the source's {counts}"
                    " (was the source written to during the copy?)"
                )
            feedback = copy_feedback(source, target)
            target.flush()
        finally:
            target.close()
    finally:
        source.close()
    return MigrationReport(
        describe(source_config),
        describe(config),
        source.model_name,
        source.dimension,
        *copied,
        seconds=time.perf_counter() - started,
        feedback=feedback,
    )


def migrate_collections(
    source_config: StoreConfig,
    target_config: StoreConfig,
    *,
    batch_size: int = 64,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[tuple[str, MigrationReport]]:
    """Copy every collection of the source (`default` first) into the same name at the target, each
    created there when missing and each into an empty store; `progress(collection, done, total)`."""
    from index.store.collections import DEFAULT_COLLECTION, collection_exists, create_collection, list_collections

    names = list_collections(source_config.data_dir, source_config.database_url)
    names = [DEFAULT_COLLECTION] + [n for n in names if n != DEFAULT_COLLECTION]
    reports: list[tuple[str, MigrationReport]] = []
    for name in names:
        target = replace(target_config, collection=name)
        if target.chosen_backend == "sqlite-faiss":
            Path(target.data_dir).mkdir(parents=True, exist_ok=True)
        if not collection_exists(target.data_dir, name, target.database_url):
            create_collection(target.data_dir, name, target.database_url)
        source = replace(source_config, collection=name)
        if name != DEFAULT_COLLECTION and not _has_index(source):  # made but never written to
            first = reports[0][1]
            open_store(replace(target, model_name=first.model_name, dimension=first.dimension)).close()
            reports.append(
                (
                    name,
                    MigrationReport(
                        describe(source), describe(target), first.model_name, first.dimension, 0, 0, 0, 0.0
                    ),
                )
            )
            continue
        step = (lambda done, total, name=name: progress(name, done, total)) if progress else None
        reports.append((name, migrate(source, target, batch_size=batch_size, progress=step)))
    return reports


def _has_index(config: StoreConfig) -> bool:
    """Whether the collection at `config` was ever written to (a read-only open finds its index)."""
    try:
        open_store(replace(config, read_only=True, check_model=False)).close()
    except IndexError_:
        return False
    return True
