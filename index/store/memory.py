"""An in-memory store (`backend="memory"`): exact numpy search and Python BM25, for fast tests.

Same contract as the SQLite + FAISS store (tests/index/store_contract.py), nothing persisted.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from index.store.faiss_sync import embed_all
from index.store.keyword_tokens import tokenize
from index.store.memory_feedback import MemoryFeedback
from index.store.memory_jobs import MemoryJobStore
from index.store.metadata_filter import check_metadata_key
from index.store.protocol import DocumentInfo
from index.store.sqlite_rows import metadata_json
from index.store.values import MemoryValues
from index.store.write_checks import prepare
from index.types import Chunk, Document


def _equal_json(stored: Any, wanted: Any) -> bool:
    """Equality as the SQLite filter compares JSON: numbers with numbers, never with bools or strings."""
    if wanted is None or isinstance(wanted, bool) or isinstance(stored, bool):
        return type(stored) is type(wanted) and stored == wanted
    if isinstance(wanted, (int, float)):
        return isinstance(stored, (int, float)) and math.isfinite(wanted) and stored == wanted
    if isinstance(wanted, str):
        return isinstance(stored, str) and stored == wanted
    raise ValueError(f"metadata value {wanted!r} is not a string, number, boolean or null")


class MemoryKeywordSearch:
    """BM25 (k1 = 1.2, b = 0.75, FTS5's IDF) over the store's chunks, computed per query."""

    K1, B = 1.2, 0.75

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def _scores(self, query: str, chunk_ids: Collection[int] | None) -> dict[int, float]:
        with self.store.lock:
            tokens = self.store.tokens
            terms = tokenize([query])[0]
            n = len(tokens)
            if not n or not terms:
                return {}
            average = sum(t.total() for t in tokens.values()) / n
            frequency = {term: sum(1 for t in tokens.values() if term in t) for term in set(terms)}
            wanted = tokens.keys() if chunk_ids is None else [i for i in chunk_ids if i in tokens]
            scores: dict[int, float] = {}
            for chunk_id in wanted:
                counts, length = tokens[chunk_id], tokens[chunk_id].total()
                score = 0.0
                for term in terms:
                    if counts[term]:
                        idf = max(math.log((n - frequency[term] + 0.5) / (frequency[term] + 0.5)), 1e-6)
                        tf = counts[term]
                        score += idf * tf * (self.K1 + 1) / (tf + self.K1 * (1 - self.B + self.B * length / average))
                scores[chunk_id] = score
            return scores

    def search(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        if k <= 0 or (doc_ids is not None and not doc_ids):
            return []
        candidates = None if doc_ids is None else self.store.chunk_ids_of(set(doc_ids))
        scores = self._scores(query, candidates)
        ranked = sorted(((i, s) for i, s in scores.items() if s > 0), key=lambda pair: (-pair[1], pair[0]))
        return ranked[:k]

    def scores_of(self, query: str, chunk_ids: Collection[int]) -> dict[int, float]:
        known = [i for i in chunk_ids if i in self.store.tokens]
        scores = self._scores(query, known) if known else {}
        return {i: scores.get(i, 0.0) for i in known}

    def sync(self) -> None:
        """Nothing to do (kept for callers from before FTS5)."""


class MemoryStore:
    """Documents, chunks and vectors in dicts; one lock around every read and write."""

    backend = "memory"

    def __init__(self, *, dimension: int, model_name: str) -> None:
        self.dimension = dimension
        self.model_name = model_name
        self.read_only = False
        self.lock = threading.RLock()
        self.documents: dict[str, Document] = {}
        self.chunks: dict[int, Chunk] = {}
        self.vectors: dict[int, np.ndarray] = {}
        self.tokens: dict[int, Counter[str]] = {}
        self._next_id = 1
        self.keyword = MemoryKeywordSearch(self)
        self.jobs = MemoryJobStore()
        self.feedback = MemoryFeedback()
        self.values = MemoryValues()

    # ---- writes -----------------------------------------------------------------------------

    def add(self, document: Document, chunks: list[Chunk], vectors: np.ndarray) -> list[Chunk]:
        return self.add_many([(document, chunks, vectors)])[0]

    def add_many(self, items: list[tuple[Document, list[Chunk], np.ndarray]]) -> list[list[Chunk]]:
        prepared = [prepare(document, chunks, vectors, self.dimension) for document, chunks, vectors in items]
        stored: list[list[Chunk]] = []
        with self.lock:
            for item in prepared:
                self._remove(item.document.id)
                document = replace(
                    item.document,
                    metadata=json.loads(metadata_json(item.document)),
                    pages=list(item.document.pages),
                    content_hash=item.document.content_hash
                    or hashlib.sha256(item.document.text.encode("utf-8", "surrogatepass")).hexdigest(),
                    created_at=item.document.created_at or time.time(),
                )
                self.documents[document.id] = document
                ids = range(self._next_id, self._next_id + len(item.chunks))
                self._next_id += len(item.chunks)
                chunks = [replace(chunk, id=chunk_id) for chunk_id, chunk in zip(ids, item.chunks)]
                for chunk, vector, tokens in zip(chunks, item.vectors, tokenize([c.text for c in chunks])):
                    assert chunk.id is not None
                    self.chunks[chunk.id], self.vectors[chunk.id] = chunk, vector.copy()
                    self.tokens[chunk.id] = Counter(tokens)
                stored.append(chunks)
        return stored

    def delete(self, doc_id: str) -> bool:
        with self.lock:
            return self._remove(doc_id)

    def _remove(self, doc_id: str) -> bool:
        if self.documents.pop(doc_id, None) is None:
            return False
        for chunk_id in [c.id for c in self.chunks.values() if c.doc_id == doc_id]:
            assert chunk_id is not None
            del self.chunks[chunk_id], self.vectors[chunk_id], self.tokens[chunk_id]
        return True

    def rebuild_vectors(
        self, model_name: str, dimension: int, embed: Callable[[list[str]], np.ndarray], batch_size: int = 256
    ) -> None:
        with self.lock:
            ids = sorted(self.chunks)
            matrix = embed_all([self.chunks[i].text for i in ids], embed, dimension, batch_size)
            self.vectors = dict(zip(ids, matrix))
            self.model_name, self.dimension = model_name, dimension

    # ---- reads ------------------------------------------------------------------------------

    def chunk_ids_of(self, doc_ids: Collection[str]) -> list[int]:
        with self.lock:
            return sorted(i for i, c in self.chunks.items() if c.doc_id in doc_ids)

    def search(self, vector: np.ndarray, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[Chunk, float]]:
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dimension:
            raise ValueError(f"query vector has dimension {query.shape[0]}, the index has {self.dimension}")
        if k <= 0 or (doc_ids is not None and not doc_ids):
            return []
        with self.lock:
            ids = sorted(self.chunks) if doc_ids is None else self.chunk_ids_of(set(doc_ids))
            if not ids:
                return []
            scores = np.stack([self.vectors[i] for i in ids]) @ query
            order = np.argsort(-scores, kind="stable")[:k]
            return [(self.chunks[ids[i]], float(scores[i])) for i in order]

    def chunk_vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        with self.lock:
            return {i: self.vectors[i] for i in chunk_ids if i in self.vectors}

    def get_document(self, doc_id: str) -> Document | None:
        with self.lock:
            document = self.documents.get(doc_id)
            return None if document is None else replace(document, metadata=json.loads(json.dumps(document.metadata)))

    def get_info(self, doc_id: str) -> DocumentInfo | None:
        with self.lock:
            document = self.documents.get(doc_id)
            return None if document is None else self._info(document)

    def _info(self, document: Document) -> DocumentInfo:
        return DocumentInfo(
            id=document.id,
            title=document.title,
            chars=len(document.text),
            chunks=sum(1 for c in self.chunks.values() if c.doc_id == document.id),
            content_type=document.content_type,
            source=document.source,
            metadata=json.loads(json.dumps(document.metadata)),
            content_hash=document.content_hash,
            created_at=document.created_at,
            pages=len(document.pages),
        )

    def list_documents(self, offset: int = 0, limit: int = 50) -> list[DocumentInfo]:
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        with self.lock:
            ordered = sorted(self.documents.values(), key=lambda d: (d.created_at, d.id))
            return [self._info(d) for d in ordered[offset : offset + limit]]

    def count_documents(self) -> int:
        return len(self.documents)

    def doc_ids_matching(self, metadata: Mapping[str, Any]) -> list[str]:
        for key in metadata:
            check_metadata_key(key)
        with self.lock:
            return sorted(
                doc.id
                for doc in self.documents.values()
                if all(
                    key in doc.metadata
                    and any(_equal_json(doc.metadata[key], v) for v in (value if isinstance(value, list) else [value]))
                    for key, value in metadata.items()
                )
            )

    def get_chunks(self, chunk_ids: Sequence[int]) -> list[Chunk]:
        with self.lock:
            missing = [i for i in chunk_ids if i not in self.chunks]
            if missing:
                raise KeyError(f"no chunks with ids {missing[:10]}")
            return [self.chunks[i] for i in chunk_ids]

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        with self.lock:
            return sorted((c for c in self.chunks.values() if c.doc_id == doc_id), key=lambda c: (c.start, c.id))

    def count_chunks(self) -> int:
        return len(self.chunks)

    # ---- admin ------------------------------------------------------------------------------

    def still_exists(self) -> bool:
        """A memory store lives as long as its object."""
        return True

    def check(self) -> None:
        """Always consistent: one dict per kind of row."""

    def verify(self) -> list[str]:
        return []

    def count_vectors(self) -> int:
        return len(self.vectors)

    def flush(self) -> None:
        """Nothing is persisted."""

    def close(self) -> None:
        """Nothing to release."""
