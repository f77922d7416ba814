"""The one place that reads the settings and wires the parts. API, CLI and eval all call it.

ingest: loaders -> chunker -> embedder -> store
ask:    retriever (embedder + store) -> reader -> answers (citations checked)
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.chunker import chunk_text
from index.embedder import Embedder
from index.errors import DocumentNotFound, InvalidRequest
from index.loaders import LoadLimits, load_bytes
from index.store import DocumentInfo, FaissSqliteStore, Store
from index.types import Chunk, Document, Page
from qa.answers import Answer, Passage, check_citation, make_answer
from qa.reader import Reader, confidence
from qa.retriever import Retriever
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


class Pipeline:
    def __init__(self, settings: Settings, embedder: Embedder, reader: Reader, store: Store) -> None:
        self.settings = settings
        self.embedder = embedder
        self.reader = reader
        self.store = store
        self.retriever = Retriever(embedder, store)
        self._write_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, read_only: bool = False) -> "Pipeline":
        settings = settings or get_settings()
        if settings.torch_threads:
            import torch

            torch.set_num_threads(settings.torch_threads)
        embedder = Embedder(settings.embedding_model, device=settings.device, batch_size=settings.embed_batch_size)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = FaissSqliteStore(
            settings.data_dir,
            dimension=embedder.dimension,
            model_name=embedder.identity,
            index_type=settings.index_type,
            read_only=read_only,
        )
        try:
            reader = Reader(
                settings.reader_model,
                device=settings.device,
                max_length=settings.reader_max_length,
                stride=settings.reader_stride,
                batch_size=settings.reader_batch_size,
                max_answer_tokens=settings.max_answer_tokens,
            )
        except BaseException:
            store.close()
            raise
        return cls(settings, embedder, reader, store)

    # ---- ingest -------------------------------------------------------------------------

    def _prepare(self, doc: NewDocument) -> tuple[Document, list[Chunk]] | IngestResult:
        """A Document and its chunks, or an IngestResult when nothing needs to change."""
        if not doc.text.strip():
            raise InvalidRequest("the document has no text")
        if len(doc.text) > self.settings.max_document_chars:
            from index.errors import DocumentTooLarge

            raise DocumentTooLarge(
                f"the document has {len(doc.text):,} characters, over the limit of"
                f" {self.settings.max_document_chars:,}"
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
    ) -> list[IngestResult]:
        """Ingests documents in batches: one embedding call and one store transaction per batch."""
        results: list[IngestResult] = []
        for batch in _batched(docs, batch_size):
            prepared: list[tuple[Document, list[Chunk]]] = []
            batch_results: list[IngestResult | None] = []
            for doc in batch:
                item = self._prepare(doc)
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
        if len(data) > self.settings.max_upload_bytes:
            from index.errors import DocumentTooLarge

            raise DocumentTooLarge(
                f"{filename!r} is {len(data):,} bytes, over the upload limit of {self.settings.max_upload_bytes:,}"
            )
        loaded = load_bytes(data, filename, self.load_limits)
        return self.ingest(
            NewDocument(
                text=loaded.text,
                title=title or loaded.title or Path(filename).stem,
                id=doc_id,
                metadata=metadata or {},
                source=source or filename,
                content_type=loaded.content_type,
                pages=loaded.pages,
            )
        )

    def ingest_path(self, path: Path, *, doc_id: str | None = None) -> IngestResult:
        return self.ingest_bytes(path.read_bytes(), path.name, doc_id=doc_id, source=str(path))

    @property
    def load_limits(self) -> LoadLimits:
        return LoadLimits(max_chars=self.settings.max_document_chars, max_pages=self.settings.max_pages)

    # ---- ask ----------------------------------------------------------------------------

    def validate_question(self, question: str) -> str:
        question = question.strip()
        if not question:
            raise InvalidRequest("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise InvalidRequest(
                f"the question has {len(question):,} characters, over the limit of"
                f" {self.settings.max_question_chars:,}"
            )
        return question

    def retrieve(
        self, question: str, top_k: int | None = None, doc_ids: Collection[str] | None = None
    ) -> list[Passage]:
        question = self.validate_question(question)
        return self.retriever.search(question, top_k or self.settings.top_k, doc_ids=doc_ids).passages

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        max_answers: int | None = None,
        doc_ids: Collection[str] | None = None,
    ) -> AskResult:
        t0 = time.perf_counter()
        question = self.validate_question(question)
        top_k = top_k or self.settings.top_k
        max_answers = max_answers or self.settings.max_answers
        retrieval = self.retriever.search(question, top_k, doc_ids=doc_ids)
        passages = retrieval.passages
        t1 = time.perf_counter()
        answers, best, null = self.read(question, passages, max_answers)
        t2 = time.perf_counter()
        timings = {
            **retrieval.timings_ms,
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
            best_score=best,
            null_score=null,
        )

    def read(
        self, question: str, passages: list[Passage], max_answers: int
    ) -> tuple[list[Answer], float | None, float | None]:
        """Reads passages; returns answers at or above the no-answer threshold, best and null scores."""
        if not passages:
            return [], None, None
        reading = self.reader.read(question, [p.text for p in passages], n_best=max(10, 3 * max_answers))
        threshold = self.settings.no_answer_threshold
        best = reading.spans[0].score if reading.spans else None
        answers: list[Answer] = []
        taken: list[tuple[str, int, int]] = []  # (doc_id, start, end) of answers so far
        seen_texts: set[str] = set()
        for span in reading.spans:
            if span.score < threshold or len(answers) >= max_answers:
                break
            passage = passages[span.context_index]
            doc_start, doc_end = passage.start + span.start, passage.start + span.end
            norm = " ".join(span.text.lower().split())
            # Alternatives must be other answers, not a better answer's fragments or extensions
            # (the same text found through an overlapping chunk, "Jake" under "Jake Sullivan").
            overlaps = any(d == passage.doc_id and s < doc_end and doc_start < e for d, s, e in taken)
            if overlaps or norm in seen_texts:
                continue
            taken.append((passage.doc_id, doc_start, doc_end))
            seen_texts.add(norm)
            answers.append(
                make_answer(passage, span.start, span.end, span.score, confidence(span.score, threshold))
            )
        self._check_citations(answers)
        return answers, best, reading.null_score

    def _check_citations(self, answers: list[Answer]) -> None:
        """The promise, checked where answers are made: the document slices to the answer."""
        texts: dict[str, str] = {}
        for answer in answers:
            doc_id = answer.citation.doc_id
            if doc_id not in texts:
                document = self.store.get_document(doc_id)
                texts[doc_id] = document.text if document else ""
            check_citation(answer, texts[doc_id])

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

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[DocumentInfo]:
        return self.store.list_documents(offset=offset, limit=limit)

    def delete(self, doc_id: str) -> None:
        with self._write_lock:
            if not self.store.delete(doc_id):
                raise DocumentNotFound(f"no document with id {doc_id!r}")

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "documents": self.store.count_documents(),
            "chunks": self.store.count_chunks(),
            "embedding_model": self.embedder.name,
            "reader_model": self.reader.name,
        }

    def close(self) -> None:
        self.store.close()


def _batched(items: Iterable[NewDocument], size: int) -> Iterator[list[NewDocument]]:
    batch: list[NewDocument] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
