"""What callers need from a store, as small Protocols; every backend provides all of them (`Store`).

- `DocumentStore`: documents and their chunks (add, replace, delete, read, list, filter, count).
- `VectorSearch`: nearest chunks to a query vector, and stored vectors by chunk id.
- `KeywordSearch`: BM25 over the chunks' text (`store.keyword`, kept in step with every write).
- `StoreAdmin`: what `spanqa index ...` needs (checks, vector counts, re-embedding, closing).
- `KeyStore`: hashed API keys and the audit log (`open_key_store`), writable beside a running server.
- `JobStore`: background ingestion jobs and their files (`store.jobs`, `index.store.jobs`).
- `FeedbackStore`: people's verdicts on answers (`store.feedback`), kept with the documents.
- `StoredValues`: small named values kept with the index (`store.values`, e.g. the calibrator).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from index.store.jobs import JobStore
from index.types import Chunk, Document


@dataclass(frozen=True)
class DocumentInfo:
    """A row of the document list: a document without its text."""

    id: str
    title: str
    chars: int
    chunks: int
    content_type: str
    source: str | None
    metadata: dict[str, Any]
    content_hash: str
    created_at: float
    pages: int


@dataclass(frozen=True)
class FeedbackSpan:
    """A span of a stored document as it read when the feedback was given: `text` is
    `document.text[start:end]` and `context` the window around it, `document.text[context_start:...]`."""

    doc_id: str
    start: int
    end: int
    text: str
    context: str
    context_start: int


NO_ANSWER: Literal["no_answer"] = "no_answer"  # a correction saying the documents do not hold the answer
Verdict = Literal["correct", "wrong"]


@dataclass(frozen=True)
class Feedback:
    """A verdict on an answer (None: the system said "no answer"), with an optional correction."""

    question: str
    answer: FeedbackSpan | None
    verdict: Verdict
    correction: FeedbackSpan | Literal["no_answer"] | None
    created_at: float
    id: int = 0  # given by the store when added


class DocumentStore(Protocol):
    def add(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> list[Chunk]: ...
    def add_many(self, items: list[tuple[Document, list[Chunk], np.ndarray]]) -> list[list[Chunk]]: ...
    def delete(self, doc_id: str) -> bool: ...
    def get_document(self, doc_id: str) -> Document | None: ...
    def get_info(self, doc_id: str) -> DocumentInfo | None: ...
    def list_documents(self, offset: int = 0, limit: int = 50) -> list[DocumentInfo]: ...
    def count_documents(self) -> int: ...
    def doc_ids_matching(self, metadata: Mapping[str, Any]) -> list[str]: ...
    def get_chunks(self, chunk_ids: Sequence[int]) -> list[Chunk]: ...
    def chunks_of(self, doc_id: str) -> list[Chunk]: ...
    def count_chunks(self) -> int: ...


class VectorSearch(Protocol):
    dimension: int
    model_name: str

    def search(
        self, vector: np.ndarray, k: int, doc_ids: Collection[str] | None = None
    ) -> list[tuple[Chunk, float]]: ...
    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]: ...


class KeywordSearch(Protocol):
    def search(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """The `k` best (chunk id, BM25 score) pairs, best first; only chunks sharing a query term."""
        ...

    def scores_of(self, query: str, chunk_ids: Collection[int]) -> dict[int, float]:
        """BM25 scores of these chunks (0.0 for a stored chunk sharing no term with `query`)."""
        ...


class StoreAdmin(Protocol):
    def check(self) -> None: ...
    def still_exists(self) -> bool:
        """Whether the store's collection is still the one it opened (not deleted, nor deleted and made
        again, e.g. by another process or replica)."""
        ...

    def verify(self) -> list[str]: ...
    def count_vectors(self) -> int: ...
    def rebuild_vectors(
        self, model_name: str, dimension: int, embed: Callable[[list[str]], np.ndarray], batch_size: int = 256
    ) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class FeedbackStore(Protocol):
    def add(self, feedback: Feedback) -> Feedback:
        """Stores `feedback`; returns it with its new id (ids grow with every add)."""
        ...

    def get(self, feedback_id: int) -> Feedback | None: ...
    def list_page(self, offset: int = 0, limit: int = 50) -> list[Feedback]:
        """Newest first (by `created_at`, then id)."""
        ...

    def count(self) -> int: ...


class StoredValues(Protocol):
    """Named text values kept with the index (index.store.values), shared by every process on it."""

    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...


class Store(DocumentStore, VectorSearch, StoreAdmin, Protocol):
    """A whole backend: documents, vector search, admin, its keyword search as `keyword`, its
    ingestion jobs as `jobs`, people's feedback on answers as `feedback` and named values as `values`."""

    @property
    def keyword(self) -> KeywordSearch: ...

    @property
    def jobs(self) -> JobStore: ...

    @property
    def feedback(self) -> FeedbackStore: ...

    @property
    def values(self) -> StoredValues: ...


@dataclass(frozen=True)
class KeyRecord:
    """An API key as stored: never the key itself, only a keyed hash of its secret (`digest`, with `salt`)."""

    id: str
    name: str
    role: str
    salt: str
    digest: str
    created_at: float
    revoked_at: float | None = None
    collections: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditEntry:
    """Who (`actor`: a key id, or a client address when auth is off) did what to which target, when."""

    at: float
    actor: str
    action: str
    target: str
    collection: str = ""  # the collection written to; "" for what belongs to none (key changes)


class KeyStore(Protocol):
    """API keys and the audit log. Writable by another process (the CLI) while a server runs."""

    def add_key(self, record: KeyRecord) -> None: ...
    def get_key(self, key_id: str) -> KeyRecord | None: ...
    def list_keys(self) -> list[KeyRecord]: ...
    def revoke_key(self, key_id: str, at: float) -> bool: ...
    def count_active_keys(self) -> int: ...
    def remove_collection(self, collection: str) -> int:
        """Takes `collection` out of every key's list (a collection deleted, maybe to be created again,
        must not hand its old keys access); the number of keys changed."""
        ...

    def add_audit(self, entry: AuditEntry) -> None: ...
    def list_audit(self, offset: int = 0, limit: int = 100) -> list[AuditEntry]: ...
    def close(self) -> None: ...
