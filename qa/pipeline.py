"""The one place that reads the settings and wires the parts. API, CLI and eval all call it.

ingest: loaders -> chunker -> embedder -> store
ask:    retriever (dense / BM25 / hybrid, optional cross-encoder rerank) -> reader -> answers (citations checked)
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from errors import DocumentNotFound, InvalidRequest, SpanqaError
from index.bm25 import BM25Index
from index.chunker import chunk_text
from index.embedder import Embedder
from index.loaders import LoadLimits, load_bytes
from index.store import DocumentInfo, Store, StoreConfig, open_store
from index.store.jobs import JobStore
from index.types import Chunk, Document, Page
from qa import selection
from qa.answers import Answer, Passage, check_citation, check_place
from qa.batching import MicroBatcher
from qa.calibration import Calibrator, find_calibrator
from qa.reader import Reader, Reading, confidence
from qa.rerank import LazyReranker, Reranker
from qa.retriever import Mode, Retriever
from qa.settings import Settings, get_settings


@dataclass
class NewDocument:
    """A document to ingest, before it has chunks."""

    text: str
    title: str | None = None
    id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    content_type: str = "text/plain"
    pages: list[Page] = field(default_factory=list)


@dataclass
class IngestResult:
    id: str
    title: str
    chunks: int
    status: str  # "added" | "replaced" | "unchanged"


@dataclass
class AskResult:
    question: str
    answers: list[Answer]
    no_answer: bool
    passages: list[Passage]
    timings_ms: dict[str, float]
    best_score: float | None = None
    null_score: float | None = None
    retrieval: str = ""  # the retrieval mode used
    reranked: bool = False
    # Every candidate answer, best first, even those below min_confidence (for eval/calibration).
    candidates: list[selection.Candidate] = field(default_factory=list)
    best_confidence: float | None = None  # the first candidate's confidence


def content_hash(doc: NewDocument) -> str:
    """Identifies a document's content: same hash, same stored document (ingest is a no-op)."""
    h = hashlib.sha256()
    for part in (doc.text, doc.title or "", repr(sorted(doc.metadata.items())), doc.content_type):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def derive_id(doc: NewDocument) -> str:
    """A stable id: from the source path when there is one, else from the text."""
    if doc.source:
        slug = _ID_UNSAFE.sub("-", Path(doc.source).name).strip("-").lower()[:60] or "doc"
        digest = hashlib.sha256(doc.source.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        return f"{slug}-{digest}"
    return hashlib.sha256(doc.text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def default_title(doc: NewDocument) -> str:
    if doc.title and doc.title.strip():
        return doc.title.strip()
    if doc.source:
        return Path(doc.source).stem
    first_line = doc.text.strip().splitlines()[0] if doc.text.strip() else "Untitled"
    return first_line[:80]


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


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        reader: Reader,
        store: Store,
        *,
        bm25: BM25Index | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.reader = reader
        self.store = store
        # BM25 lives beside the store and follows its write generation (see index.bm25).
        self.bm25 = bm25 if bm25 is not None else BM25Index(settings.data_dir / "bm25", store)
        # The cross-encoder loads on the first reranked question.
        self.reranker = (
            reranker
            if reranker is not None
            else LazyReranker(
                settings.rerank_model,
                max_length=settings.rerank_max_length,
                batch_size=settings.rerank_batch_size,
                device=settings.device,
                threads=settings.torch_threads,
            )
        )
        self.retriever = Retriever(
            embedder,
            store,
            self.bm25,
            self.reranker,
            mode=settings.retrieval,
            rrf_k=settings.rrf_k,
            depth=settings.retrieval_depth,
            rerank=settings.rerank,
            rerank_candidates=settings.rerank_candidates,
        )
        self.calibrator: Calibrator | None = find_calibrator(
            settings.data_dir, settings.reader_model, embedder.identity
        )
        self._write_lock = threading.Lock()
        # Concurrent questions share reader calls (see qa.batching); None: each reads alone.
        self.read_batcher: MicroBatcher[tuple[str, list[str], int], list[Reading]] | None = None
        if settings.batch_max_questions > 1:
            self.read_batcher = MicroBatcher(
                self._read_many,
                max_batch=settings.batch_max_questions,
                window_ms=settings.batch_window_ms,
                name="reader-batcher",
            )

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, read_only: bool = False) -> Pipeline:
        settings = settings or get_settings()
        if settings.torch_threads:
            import torch

            torch.set_num_threads(settings.torch_threads)
        embedder = make_embedder(settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = open_store(
            StoreConfig(
                settings.data_dir,
                dimension=embedder.dimension,
                model_name=embedder.identity,
                index_type=settings.index_type,
                read_only=read_only,
            )
        )
        try:
            reader = Reader(
                settings.reader_model,
                device=settings.device,
                max_length=settings.reader_max_length,
                stride=settings.reader_stride,
                batch_size=settings.reader_batch_size,
                max_answer_tokens=settings.max_answer_tokens,
                backend=settings.backend,
                onnx_precision=settings.onnx_precision,
                cache_dir=settings.model_cache,
                threads=settings.torch_threads,
            )
            return cls(settings, embedder, reader, store, bm25=store.keyword)
        except BaseException:
            store.close()
            raise

    # ---- ingest -------------------------------------------------------------------------

    def _prepare(self, doc: NewDocument) -> tuple[Document, list[Chunk]] | IngestResult:
        """A Document and its chunks, or an IngestResult when nothing needs to change."""
        if not doc.text.strip():
            raise InvalidRequest("the document has no text")
        if len(doc.text) > self.settings.max_document_chars:
            from errors import DocumentTooLarge

            raise DocumentTooLarge(
                f"the document has {len(doc.text):,} characters, over the limit of {self.settings.max_document_chars:,}"
            )
        doc_id = (doc.id or "").strip() or derive_id(doc)
        digest = content_hash(doc)
        existing = self.store.get_info(doc_id)
        title = default_title(doc)
        if existing is not None and existing.content_hash == digest:
            return IngestResult(doc_id, existing.title, existing.chunks, "unchanged")
        document = Document(
            id=doc_id,
            title=title,
            text=doc.text,
            pages=list(doc.pages),
            metadata=dict(doc.metadata),
            source=doc.source,
            content_type=doc.content_type,
            content_hash=digest,
            created_at=time.time(),
        )
        chunks = chunk_text(
            doc_id,
            doc.text,
            self.embedder.tokenizer,
            chunk_tokens=self.settings.chunk_tokens,
            overlap_tokens=self.settings.chunk_overlap,
            pages=document.pages,
        )
        if not chunks:
            raise InvalidRequest("the document has no text")
        return document, chunks

    def ingest(self, doc: NewDocument) -> IngestResult:
        return self.ingest_many([doc])[0]

    def ingest_many(
        self,
        docs: Iterable[NewDocument],
        *,
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
        on_error: Callable[[NewDocument, SpanqaError], None] | None = None,
    ) -> list[IngestResult]:
        """Ingests documents in batches: one embedding call and one store transaction per batch.

        With `on_error`, a document refused on its own (too long, no text) is handed to it and left
        out of the results instead of stopping the whole ingest.
        """
        results: list[IngestResult] = []
        for batch in _batched(docs, batch_size):
            prepared: list[tuple[Document, list[Chunk]]] = []
            batch_results: list[IngestResult | None] = []
            for doc in batch:
                try:
                    item = self._prepare(doc)
                except SpanqaError as error:
                    if on_error is None:
                        raise
                    on_error(doc, error)
                    continue
                if isinstance(item, IngestResult):
                    batch_results.append(item)
                else:
                    prepared.append(item)
                    batch_results.append(None)
            texts = [c.text for _, chunks in prepared for c in chunks]
            vectors = self.embedder.encode(texts)
            items: list[tuple[Document, list[Chunk], np.ndarray]] = []
            offset = 0
            for document, chunks in prepared:
                items.append((document, chunks, vectors[offset : offset + len(chunks)]))
                offset += len(chunks)
            with self._write_lock:
                existed = {d.id: self.store.get_info(d.id) is not None for d, _ in prepared}
                if items:
                    self.store.add_many(items)
            stored = iter(prepared)
            for result in batch_results:
                if result is None:
                    document, chunks = next(stored)
                    result = IngestResult(
                        document.id, document.title, len(chunks), "replaced" if existed[document.id] else "added"
                    )
                results.append(result)
            if progress:
                progress(len(batch))
        self.bm25.sync()  # the writer pays for the BM25 rebuild, once per ingest, not the next question
        return results

    def ingest_bytes(
        self,
        data: bytes,
        filename: str,
        *,
        title: str | None = None,
        doc_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        source: str | None = None,
    ) -> IngestResult:
        return self.ingest(self.load(data, filename, title=title, doc_id=doc_id, metadata=metadata, source=source))

    def load(
        self,
        data: bytes,
        filename: str,
        *,
        title: str | None = None,
        doc_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        source: str | None = None,
    ) -> NewDocument:
        """A file's bytes as a document to ingest (its text extracted within the settings' limits).

        Raises DocumentTooLarge, UnsupportedFileType or UnreadableDocument; nothing is written.
        """
        if len(data) > self.settings.max_upload_bytes:
            from errors import DocumentTooLarge

            raise DocumentTooLarge(
                f"{filename!r} is {len(data):,} bytes, over the upload limit of {self.settings.max_upload_bytes:,}"
            )
        loaded = load_bytes(data, filename, self.load_limits)
        return NewDocument(
            text=loaded.text,
            title=title or loaded.title or Path(filename).stem,
            id=doc_id,
            metadata=metadata or {},
            source=source or filename,
            content_type=loaded.content_type,
            pages=loaded.pages,
        )

    def ingest_path(self, path: Path, *, doc_id: str | None = None, source: str | None = None) -> IngestResult:
        return self.ingest_bytes(path.read_bytes(), path.name, doc_id=doc_id, source=source or str(path))

    @property
    def load_limits(self) -> LoadLimits:
        return LoadLimits(
            max_chars=self.settings.max_document_chars,
            max_pages=self.settings.max_pages,
            max_unpacked_bytes=self.settings.max_unpacked_bytes,
        )

    # ---- ask ----------------------------------------------------------------------------

    def validate_question(self, question: str) -> str:
        question = question.strip()
        if not question:
            raise InvalidRequest("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise InvalidRequest(
                f"the question has {len(question):,} characters, over the limit of {self.settings.max_question_chars:,}"
            )
        return question

    def filter_documents(
        self, doc_ids: Collection[str] | None, metadata: Mapping[str, Any] | None
    ) -> Collection[str] | None:
        """The ids of the documents `ask` may read: `doc_ids` (None: all) narrowed to those whose
        metadata matches `metadata` (equality per key; a list value matches any of its values)."""
        if not metadata:
            return doc_ids
        for key, value in metadata.items():
            if not key or '"' in key:
                raise InvalidRequest(f"metadata filter key {key!r} must be non-empty and must not contain '\"'")
            for item in value if isinstance(value, list) else [value]:
                if item is not None and not isinstance(item, (str, int, float, bool)):
                    raise InvalidRequest(
                        f"metadata filter {key!r}: values must be strings, numbers, booleans or null, got {item!r}"
                    )
        matching = set(self.store.doc_ids_matching(metadata))
        return matching if doc_ids is None else matching.intersection(doc_ids)

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        doc_ids: Collection[str] | None = None,
        *,
        retrieval: Mode | None = None,
        rerank: bool | None = None,
    ) -> list[Passage]:
        """The passages `ask` would read (retrieval mode and rerank default to the settings')."""
        question = self.validate_question(question)
        top_k = top_k or self.settings.top_k
        return self.retriever.search(question, top_k, doc_ids=doc_ids, mode=retrieval, rerank=rerank).passages

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
        """Answers `question` from the documents `doc_ids` (all when None) whose metadata has every
        key-value pair of `metadata` (a list value: any of its values); the filter applies before
        retrieval, so only those documents are read."""
        t0 = time.perf_counter()
        question = self.validate_question(question)
        doc_ids = self.filter_documents(doc_ids, metadata)
        top_k = top_k or self.settings.top_k
        max_answers = max_answers or self.settings.max_answers
        # Announced to the micro-batcher: a reader batch forming now waits a moment for this one.
        with self.read_batcher.expecting() if self.read_batcher else contextlib.nullcontext():
            found = self.retriever.search(question, top_k, doc_ids=doc_ids, mode=retrieval, rerank=rerank)
            passages = found.passages
            t1 = time.perf_counter()
            answers, candidates, readings = self.read_candidates(question, passages, max_answers)
        t2 = time.perf_counter()
        timings = {
            **found.timings_ms,
            "retrieve": (t1 - t0) * 1000,
            "read": (t2 - t1) * 1000,
            "total": (t2 - t0) * 1000,
        }
        return AskResult(
            question=question,
            answers=answers,
            no_answer=not answers,
            passages=passages,
            timings_ms=timings,
            best_score=candidates[0].primary.score if candidates else None,
            null_score=min((r.null_score for r in readings if not math.isnan(r.null_score)), default=None),
            candidates=candidates,
            best_confidence=self.confidence(candidates[0]) if candidates else None,
            retrieval=retrieval or self.settings.retrieval,
            reranked=self.settings.rerank if rerank is None else rerank,
        )

    def read_candidates(
        self, question: str, passages: list[Passage], max_answers: int
    ) -> tuple[list[Answer], list[selection.Candidate], list[Reading]]:
        """Answers, every candidate (best first, qa.selection) and each passage's reading."""
        if not passages:
            return [], [], []
        read = passages_to_read(passages, self.settings.reader_min_score_ratio, self.settings.rerank_read_margin)
        request = (question, [passages[i].text for i in read], max(20, 3 * max_answers))
        readings = self.read_batcher.submit(request) if self.read_batcher else self._read_many([request])[0]
        passages = [passages[i] for i in read]
        found = selection.candidates(passages, readings)
        answers = selection.to_answers(
            found, passages, self.confidence, min_confidence=self.min_confidence, max_answers=max_answers
        )
        return self._check_citations(answers), found, readings

    @property
    def min_confidence(self) -> float:
        """Answers below this confidence are not given (0.5 = the score threshold without a calibrator)."""
        return self.settings.min_confidence if self.calibrator else 0.5

    def confidence(self, candidate: selection.Candidate) -> float:
        """P(right) from the calibrator; without one, sigmoid(score - no_answer_threshold)."""
        if self.calibrator is not None:
            return self.calibrator.probability(candidate.features)
        return confidence(candidate.primary.score, self.settings.no_answer_threshold)

    def _read_many(self, requests: list[tuple[str, list[str], int]]) -> list[list[Reading]]:
        """One reader call for several (question, passage texts, n_best) requests; each passage
        is read on its own (its own null score), so each request gets one Reading per passage."""
        n_best = max(n for _, _, n in requests)
        pairs = [(q, text, n) for q, texts, n in requests for text in texts]
        readings = iter(self.reader.read_batch([q for q, _, _ in pairs], [[t] for _, t, _ in pairs], n_best=n_best))
        return [[_first(next(readings), n) for _ in texts] for _, texts, n in requests]

    def warm_up(self) -> None:
        """Runs the models once, so the first question is not slow (lazy initialisation)."""
        self.embedder.warm_up()
        self.reader.warm_up()

    def _check_citations(self, answers: list[Answer]) -> list[Answer]:
        """The promise, checked where answers are made: the document slices to the answer, at
        every place it cites.

        A place read from a passage whose document was deleted or replaced after retrieval (a
        concurrent write: its chunk is gone) is dropped, not returned with a citation that no longer
        holds (the whole answer when it is the primary place); a mismatch on a document that did
        not change is a bug and raises CitationMismatch.
        """
        texts: dict[str, str | None] = {}
        kept: list[Answer] = []
        for answer in answers:
            places = []
            for citation in answer.citations or (answer.citation,):
                if citation.doc_id not in texts:
                    document = self.store.get_document(citation.doc_id)
                    texts[citation.doc_id] = document.text if document else None
                text = texts[citation.doc_id]
                holds = text is not None and text[citation.start : citation.end] == citation.text
                if not holds and not self._chunk_exists(citation.passage.chunk_id):
                    continue
                check_place(citation, citation.text, text or "")
                places.append(citation)
            if places and places[0] == answer.citation:
                check_citation(answer, texts[answer.citation.doc_id] or "")
                kept.append(dataclasses.replace(answer, citations=tuple(places)))
        return kept

    def _chunk_exists(self, chunk_id: int) -> bool:
        try:
            self.store.get_chunks([chunk_id])
        except KeyError:
            return False
        return True

    # ---- documents ----------------------------------------------------------------------

    def get_document(self, doc_id: str) -> Document:
        document = self.store.get_document(doc_id)
        if document is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return document

    def get_info(self, doc_id: str) -> DocumentInfo:
        info = self.store.get_info(doc_id)
        if info is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return info

    @property
    def jobs(self) -> JobStore:
        """The store's background ingestion jobs (qa.jobs)."""
        return self.store.jobs

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[DocumentInfo]:
        return self.store.list_documents(offset=offset, limit=limit)

    def delete(self, doc_id: str) -> None:
        with self._write_lock:
            if not self.store.delete(doc_id):
                raise DocumentNotFound(f"no document with id {doc_id!r}")
            self.bm25.sync()

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "documents": self.store.count_documents(),
            "chunks": self.store.count_chunks(),
            "embedding_model": self.embedder.name,
            "reader_model": self.reader.name,
        }

    def close(self) -> None:
        if self.read_batcher is not None:
            self.read_batcher.close()
        self.store.close()


def passages_to_read(passages: list[Passage], min_ratio: float, rerank_margin: float | None = None) -> list[int]:
    """Indexes of the passages worth reading in hybrid retrieval: the first (the retriever's
    best) and every other whose fused (RRF) score is at least `min_ratio` times the first one's.

    Reading time grows with every passage, and on the SQuAD dev split a passage fused far below
    the best rarely holds the answer but often holds a spurious high-scoring span, so skipping
    them is both faster and more accurate (bench/levers.py measures it). Only fused scores are
    used: a dense-only or BM25-only score alone misjudges too often (the seed article's
    "national security adviser" passage scores half the best in dense, first in BM25), and
    reranked passages are all read (the cross-encoder already chose them), unless `rerank_margin`
    is given: then those whose cross-encoder logit is within it of the best one's (README,
    "Retrieval": on SQuAD dev questions outside the eval subset, margin 2 raised has-answer F1 from
    52.4 to 58.6 over reading all five).
    """
    first = passages[0].scores if passages else {}
    if "rerank" in first and rerank_margin is not None:
        return [i for i, p in enumerate(passages) if p.scores["rerank"] >= first["rerank"] - rerank_margin]
    if len(passages) <= 1 or min_ratio <= 0:
        return list(range(len(passages)))
    if "rrf" not in first or "rerank" in first or first["rrf"] <= 0:
        return list(range(len(passages)))
    floor = min_ratio * first["rrf"]
    return [i for i, p in enumerate(passages) if i == 0 or p.scores.get("rrf", floor) >= floor]


def _first(reading: Reading, n: int) -> Reading:
    return Reading(reading.spans[:n], reading.null_score)


def _batched(items: Iterable[NewDocument], size: int) -> Iterator[list[NewDocument]]:
    batch: list[NewDocument] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
