"""The ingest service: a document (text or file bytes) -> chunks -> vectors -> the store and its keyword index.

A document is named by its id (given, else derived from its source path or text) and identified by
a hash of its content: the same content again is a no-op, changed content replaces the stored
document atomically (one store transaction per batch).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack, cast

import numpy as np

from errors import DocumentNotFound, DocumentTooLarge, InvalidRequest, SpanqaError
from index.chunker import chunk_text
from index.embedder import TextEncoder
from index.loaders import LoadLimits, load_bytes
from index.store import Store
from index.types import Chunk, Document, Page
from index.validation import check_metadata
from qa.settings import Settings


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


class FileDetails(TypedDict, total=False):
    """What a caller may say about a file's document; the rest comes from the file (see `IngestService.load`)."""

    title: str | None
    doc_id: str | None
    metadata: dict[str, Any] | None
    source: str | None


@dataclass
class IngestResult:
    id: str
    title: str
    chunks: int
    status: str  # "added" | "replaced" | "unchanged"


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


def load_limits(settings: Settings) -> LoadLimits:
    return LoadLimits(
        max_chars=settings.max_document_chars,
        max_pages=settings.max_pages,
        max_unpacked_bytes=settings.max_unpacked_bytes,
    )


class IngestService:
    """Writes documents: ingest (one, many, file bytes, a path) and delete, one writer at a time."""

    def __init__(self, settings: Settings, embedder: TextEncoder, store: Store) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self._write_lock = threading.Lock()

    def prepare(self, doc: NewDocument) -> tuple[Document, list[Chunk]] | IngestResult:
        """A Document and its chunks, or an IngestResult when nothing needs to change."""
        if not doc.text.strip():
            raise InvalidRequest("the document has no text")
        check_metadata(doc.metadata or {})
        limit = self.settings.max_document_chars
        if len(doc.text) > limit:
            raise DocumentTooLarge(f"the document has {len(doc.text):,} characters, over the limit of {limit:,}")
        doc_id = (doc.id or "").strip() or derive_id(doc)
        digest = content_hash(doc)
        existing = self.store.get_info(doc_id)
        if existing is not None and existing.content_hash == digest:
            return IngestResult(doc_id, existing.title, existing.chunks, "unchanged")
        document = Document(
            id=doc_id,
            title=default_title(doc),
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
                    item = self.prepare(doc)
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
                    status = "replaced" if existed[document.id] else "added"
                    result = IngestResult(document.id, document.title, len(chunks), status)
                results.append(result)
            if progress:
                progress(len(batch))
        _catch_up_keyword_index(self.store)
        return results

    def load(self, data: bytes, filename: str, **about: Unpack[FileDetails]) -> NewDocument:
        """A file's bytes as a document to ingest (its text extracted within the settings' limits).

        Raises DocumentTooLarge, UnsupportedFileType or UnreadableDocument; nothing is written.
        """
        limit = self.settings.max_upload_bytes
        if len(data) > limit:
            raise DocumentTooLarge(f"{filename!r} is {len(data):,} bytes, over the upload limit of {limit:,}")
        loaded = load_bytes(data, filename, load_limits(self.settings))
        return NewDocument(
            text=loaded.text,
            title=about.get("title") or loaded.title or Path(filename).stem,
            id=about.get("doc_id"),
            metadata=about.get("metadata") or {},
            source=about.get("source") or filename,
            content_type=loaded.content_type,
            pages=loaded.pages,
        )

    def ingest_bytes(self, data: bytes, filename: str, **about: Unpack[FileDetails]) -> IngestResult:
        return self.ingest(self.load(data, filename, **about))

    def ingest_path(self, path: Path, *, doc_id: str | None = None, source: str | None = None) -> IngestResult:
        return self.ingest_bytes(path.read_bytes(), path.name, doc_id=doc_id, source=source or str(path))

    def delete(self, doc_id: str) -> None:
        with self._write_lock:
            if not self.store.delete(doc_id):
                raise DocumentNotFound(f"no document with id {doc_id!r}")
            _catch_up_keyword_index(self.store)


def _catch_up_keyword_index(store: Store) -> None:
    """Brings a keyword index that is rebuilt from the chunks (bm25s files) up to date now, so the
    writer pays for the rebuild once per ingest, not the next question; one written with the chunks
    has nothing to do."""
    sync = getattr(cast(Any, store).keyword, "sync", None)
    if callable(sync):
        sync()


def _batched(items: Iterable[NewDocument], size: int) -> Iterator[list[NewDocument]]:
    batch: list[NewDocument] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
