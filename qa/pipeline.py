"""`Pipeline`: the façade the API, CLI and eval call. It holds the parts `qa.wiring` builds and
hands each call to the service that does the job; callers never reach the parts themselves.

ingest: loaders -> chunker -> embedder -> store (qa.ingest)
ask:    retriever (dense / BM25 / hybrid, optional cross-encoder rerank) -> reader -> answer
        selection -> answers with checked citations (qa.asking, qa.answer_selection)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, Unpack

from errors import DocumentNotFound, SpanqaError
from index.embedder import TextEncoder
from index.store import DocumentInfo, Store
from index.store.collections import check_collection_name
from index.store.jobs import JobStore
from index.types import Document
from qa import wiring
from qa.answers import Answer, Passage
from qa.asking import AskResult, passages_to_read
from qa.calibration import Calibrator
from qa.feedback import FeedbackService
from qa.ingest import FileDetails, IngestResult, NewDocument
from qa.reader import Reader, Reading, SpanModel
from qa.rerank import Reranker
from qa.retriever import Mode
from qa.selection import Candidate
from qa.settings import Settings, get_settings

# The records callers above qa (api, cli) use, re-exported so they import nothing from index.
__all__ = ["AskResult", "Document", "DocumentInfo", "IngestResult", "NewDocument", "Pipeline", "passages_to_read"]


class Pipeline:
    """Ingest, ask and the document CRUD over one store, with the models the settings configure.

    `embedder`, `reader` (or only its `span_model`), `store` and `reranker` may be injected; the
    others are built from `settings` (see qa.wiring). The pipeline closes its store on `close()`.
    """

    def __init__(
        self,
        settings: Settings,
        embedder: TextEncoder | None = None,
        reader: Reader | None = None,
        store: Store | None = None,
        *,
        span_model: SpanModel | None = None,
        reranker: Reranker | None = None,
        read_only: bool = False,
        _shared: wiring.Parts | None = None,
    ) -> None:
        self.settings = settings
        self._parts = wiring.build(
            settings,
            embedder=embedder,
            reader=reader,
            span_model=span_model,
            store=store,
            reranker=reranker,
            read_only=read_only,
            shared=_shared,
        )
        self._ingest = self._parts.ingest
        self._asking = self._parts.asking

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, read_only: bool = False) -> Pipeline:
        return cls(settings or get_settings(), read_only=read_only)

    def in_collection(self, collection: str, *, read_only: bool = False) -> Pipeline:
        """A pipeline over another collection (its own store) sharing this one's embedder, reader,
        reranker and micro-batcher; closing it closes only its store. CollectionNotFound if there is none."""
        settings = self.settings.model_copy(update={"collection": check_collection_name(collection)})
        return Pipeline(settings, read_only=read_only, _shared=self._parts)

    @property
    def collection(self) -> str:
        return self.settings.collection

    def store_is_current(self) -> bool:
        """Whether the store is still the collection it opened (not deleted meanwhile, e.g. by another replica)."""
        return self._parts.store.still_exists()

    # ---- ingest ---------------------------------------------------------------------------

    def ingest(self, doc: NewDocument) -> IngestResult:
        return self._ingest.ingest(doc)

    def ingest_many(
        self,
        docs: Iterable[NewDocument],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
        on_error: Callable[[NewDocument, SpanqaError], None] | None = None,
    ) -> list[IngestResult]:
        return self._ingest.ingest_many(docs, batch_size=batch_size, progress=progress, on_error=on_error)

    def ingest_bytes(self, data: bytes, filename: str, **about: Unpack[FileDetails]) -> IngestResult:
        return self._ingest.ingest_bytes(data, filename, **about)

    def load(self, data: bytes, filename: str, **about: Unpack[FileDetails]) -> NewDocument:
        """A file's bytes as a document to ingest; nothing is written (see IngestService.load)."""
        return self._ingest.load(data, filename, **about)

    def ingest_path(self, path: Path, *, doc_id: str | None = None, source: str | None = None) -> IngestResult:
        return self._ingest.ingest_path(path, doc_id=doc_id, source=source)

    # ---- ask ------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        max_answers: int | None = None,
        doc_ids: Collection[str] | None = None,
        retrieval: Mode | None = None,
        rerank: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AskResult:
        return self._asking.ask(
            question,
            top_k=top_k,
            max_answers=max_answers,
            doc_ids=doc_ids,
            retrieval=retrieval,
            rerank=rerank,
            metadata=metadata,
        )

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        doc_ids: Collection[str] | None = None,
        *,
        retrieval: Mode | None = None,
        rerank: bool | None = None,
    ) -> list[Passage]:
        return self._asking.retrieve(question, top_k, doc_ids, retrieval=retrieval, rerank=rerank)

    def read(
        self, question: str, passages: list[Passage], max_answers: int
    ) -> tuple[list[Answer], float | None, float | None]:
        return self._asking.read(question, passages, max_answers)

    def read_candidates(
        self, question: str, passages: list[Passage], max_answers: int
    ) -> tuple[list[Answer], list[Candidate], list[Reading]]:
        """Answers, every candidate (best first, qa.selection) and each passage's reading."""
        return self._asking.read_candidates(question, passages, max_answers)

    @property
    def min_confidence(self) -> float:
        """Answers below this confidence are not given (see AskingService.min_confidence)."""
        return self._asking.min_confidence

    def confidence(self, candidate: Candidate) -> float:
        """A candidate's confidence: calibrated when there is a calibrator, else from its score."""
        return self._asking.confidence(candidate)

    @property
    def calibrator(self) -> Calibrator | None:
        """The confidence calibrator in use (None: sigmoid of the score); the eval reports on it."""
        return self._parts.calibrator

    @property
    def embedder_identity(self) -> str:
        """The embedding model's name as the index records it."""
        return self._parts.embedder.identity

    def read_batch(self, questions: list[str], contexts: list[list[str]], n_best: int = 5) -> list[Reading]:
        """The reader alone over given texts (no retrieval, no answer selection): for the eval's oracle."""
        return self._parts.reader.read_batch(questions, contexts, n_best=n_best)

    def validate_question(self, question: str) -> str:
        return self._asking.validate_question(question)

    def filter_documents(
        self, doc_ids: Collection[str] | None, metadata: Mapping[str, Any] | None
    ) -> Collection[str] | None:
        """The ids `ask` would read for these filters (None: every document)."""
        return self._asking.filter_documents(doc_ids, metadata)

    # ---- documents ------------------------------------------------------------------------

    def feedback(self) -> FeedbackService:
        """Feedback on answers, checked against and kept in this pipeline's store."""
        store = self._parts.store
        return FeedbackService(store.feedback, store.get_document, self.settings.max_question_chars)

    def get_document(self, doc_id: str) -> Document:
        document = self._parts.store.get_document(doc_id)
        if document is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return document

    def get_info(self, doc_id: str) -> DocumentInfo:
        info = self._parts.store.get_info(doc_id)
        if info is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return info

    @property
    def jobs(self) -> JobStore:
        """The store's background ingestion jobs (qa.jobs)."""
        return self._parts.store.jobs

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[DocumentInfo]:
        return self._parts.store.list_documents(offset=offset, limit=limit)

    def count_documents(self) -> int:
        return self._parts.store.count_documents()

    def count_chunks(self) -> int:
        return self._parts.store.count_chunks()

    def delete(self, doc_id: str) -> None:
        self._ingest.delete(doc_id)

    # ---- service --------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "documents": self._parts.store.count_documents(),
            "chunks": self._parts.store.count_chunks(),
            "embedding_model": self._parts.embedder.name,
            "reader_model": self._parts.reader.name,
        }

    def warm_up(self) -> None:
        """Loads the models and runs each once, so the first question is not slow."""
        self._parts.embedder.warm_up()
        self._parts.reader.warm_up()

    def batch_stats(self) -> dict[str, int] | None:
        """Micro-batching counters: reader calls made ("batches") and questions read ("items"); None when off."""
        batcher = self._parts.batcher
        return None if batcher is None else {"batches": batcher.batches, "items": batcher.items}

    def clear_caches(self) -> None:
        """Forgets cached question embeddings (benchmarks measure cold questions)."""
        clear = getattr(self._parts.embedder, "clear_query_cache", None)
        if clear is not None:
            clear()

    def close(self, *, keep_store: bool = False) -> None:
        """Stops the reader's micro-batcher and closes the store (unless `keep_store`: a store shared
        with another pipeline)."""
        self._parts.close(keep_store=keep_store)
