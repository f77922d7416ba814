"""The composition root: the one place that turns the settings into parts and wires them.

    settings ─┬─ embedder (index.embedder) ─────────┐
              ├─ store = open_store(StoreConfig) ───┼─ IngestService (qa.ingest)
              │    └─ store.keyword (BM25)          │
              ├─ reranker (lazy cross-encoder) ─────┼─ Retriever (qa.retriever)
              └─ reader (qa.reader) ─ MicroBatcher ─┴─ AskingService (qa.asking)

Nothing else constructs these: `Pipeline` (the façade the API, CLI and eval call) gets its parts
from `build`, and the CLI's index commands open their store through `open_configured_store`. Any
part may be injected (a test fake, a model shared between pipelines); the rest are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from index.embedder import Embedder, TextEncoder
from index.store import Store, StoreConfig, open_store
from qa.asking import AskingService, ReadRequest, read_many
from qa.batching import MicroBatcher
from qa.calibration import Calibrator, find_calibrator
from qa.ingest import IngestService
from qa.reader import Reader, Reading, SpanModel
from qa.reader_choice import active_reader
from qa.rerank import LazyReranker, Reranker
from qa.retriever import Retriever
from qa.settings import Settings


@dataclass
class Parts:
    """Everything a pipeline runs on, wired."""

    settings: Settings
    embedder: TextEncoder
    reader: Reader
    store: Store
    reranker: Reranker
    retriever: Retriever
    batcher: MicroBatcher[ReadRequest, list[Reading]] | None
    calibrator: Calibrator | None
    ingest: IngestService
    asking: AskingService
    owns_batcher: bool = True  # False: the batcher is shared with another pipeline's parts (`shared`)

    def close(self, *, keep_store: bool = False) -> None:
        if self.batcher is not None and self.owns_batcher:
            self.batcher.close()
        if not keep_store:
            self.store.close()


def make_embedder(settings: Settings) -> Embedder:
    """The embedding model the settings configure (the one the index must have been built with)."""
    return Embedder(
        settings.embedding_model,
        device=settings.device,
        batch_size=settings.embed_batch_size,
        backend=settings.backend,
        onnx_precision=settings.onnx_precision,
        cache_dir=settings.model_cache,
        threads=settings.torch_threads,
        query_cache_size=settings.query_cache_size,
    )


def make_reader(settings: Settings, span_model: SpanModel | None = None) -> Reader:
    """The reader the settings configure; `span_model` replaces the model it would load."""
    return Reader(
        active_reader(settings.data_dir, settings.reader_model),
        device=settings.device,
        max_length=settings.reader_max_length,
        stride=settings.reader_stride,
        batch_size=settings.reader_batch_size,
        max_answer_tokens=settings.max_answer_tokens,
        backend=settings.backend,
        onnx_precision=settings.onnx_precision,
        cache_dir=settings.model_cache,
        threads=settings.torch_threads,
        span_model=span_model,
    )


def make_reranker(settings: Settings) -> Reranker:
    """The cross-encoder, loaded on the first reranked question."""
    return LazyReranker(
        settings.rerank_model,
        max_length=settings.rerank_max_length,
        batch_size=settings.rerank_batch_size,
        device=settings.device,
        threads=settings.torch_threads,
    )


def open_configured_store(
    settings: Settings, embedder: TextEncoder, *, read_only: bool = False, check_model: bool = True
) -> Store:
    """The store in `settings.data_dir` (or the database at `settings.database_url`), for the vectors of `embedder`."""
    if not read_only:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = StoreConfig(
        settings.data_dir,
        dimension=embedder.dimension,
        model_name=embedder.identity,
        index_type=settings.index_type,
        read_only=read_only,
        check_model=check_model,
        database_url=settings.database_url,
        pool_size=settings.database_pool_size,
        hnsw_m=settings.hnsw_m,
        hnsw_ef_construction=settings.hnsw_ef_construction,
        hnsw_ef_search=settings.hnsw_ef_search,
        collection=settings.collection,
    )
    return open_store(config)


def make_batcher(settings: Settings, reader: Reader) -> MicroBatcher[ReadRequest, list[Reading]] | None:
    """Concurrent questions share reader calls (see qa.batching); None: each reads alone."""
    if settings.batch_max_questions <= 1:
        return None
    return MicroBatcher(
        partial(read_many, reader),
        max_batch=settings.batch_max_questions,
        window_ms=settings.batch_window_ms,
        name="reader-batcher",
    )


def build(
    settings: Settings,
    *,
    embedder: TextEncoder | None = None,
    reader: Reader | None = None,
    span_model: SpanModel | None = None,
    store: Store | None = None,
    reranker: Reranker | None = None,
    read_only: bool = False,
    shared: Parts | None = None,
) -> Parts:
    """All parts from `settings`, except those given. A given store is closed with the parts. With
    `shared` (another collection's parts), its embedder, reader, reranker and micro-batcher are used:
    one set of models serves every collection."""
    if shared is not None:
        embedder, reader, reranker = shared.embedder, shared.reader, shared.reranker
    if settings.torch_threads and (embedder is None or reader is None):
        import torch

        torch.set_num_threads(settings.torch_threads)
    embedder = embedder if embedder is not None else make_embedder(settings)
    reader = reader if reader is not None else make_reader(settings, span_model)
    store = store if store is not None else open_configured_store(settings, embedder, read_only=read_only)
    try:
        reranker = reranker if reranker is not None else make_reranker(settings)
        retriever = Retriever(
            embedder,
            store,
            cast(Any, store).keyword,  # every store has one (open_store); typed on the Store protocol in index.store
            reranker,
            mode=settings.retrieval,
            rrf_k=settings.rrf_k,
            depth=settings.retrieval_depth,
            rerank=settings.rerank,
            rerank_candidates=settings.rerank_candidates,
        )
        batcher = shared.batcher if shared is not None else make_batcher(settings, reader)
        calibrator = find_calibrator(
            settings.data_dir,
            active_reader(settings.data_dir, settings.reader_model),
            embedder.identity,
            store.values,
            inherited=shared.calibrator if shared is not None else None,  # a collection's: default's
        )
        asking = AskingService(settings, store, retriever, partial(read_many, reader), batcher, calibrator)
        return Parts(
            settings=settings,
            embedder=embedder,
            reader=reader,
            store=store,
            reranker=reranker,
            retriever=retriever,
            batcher=batcher,
            calibrator=calibrator,
            ingest=IngestService(settings, embedder, store),
            asking=asking,
            owns_batcher=shared is None,
        )
    except BaseException:
        store.close()
        raise


def index_exists(settings: Settings) -> bool:
    """Whether the settings' collection holds an index yet (the CLI's index commands need one); with a
    database URL, the database is the index (created at the first writable start)."""
    from index.store import DB_FILE
    from index.store.collections import collection_dir

    return bool(settings.database_url) or (collection_dir(settings.data_dir, settings.collection) / DB_FILE).exists()
