"""The FAISS side of the store: chunk id -> vector, inner-product search ("flat" or "hnsw")."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

import faiss
import numpy as np

IndexType = Literal["flat", "hnsw"]


class VectorIndex:
    """The FAISS side: chunk id -> vector, inner-product search, for "flat" or "hnsw".

    HNSW cannot remove vectors, so removed ids become tombstones that searches skip; `compacted()`
    rebuilds without them.
    """

    HNSW_M = 32
    HNSW_EF_CONSTRUCTION = 80
    HNSW_EF_SEARCH = 64
    EXACT_SUBSET = 4096  # hnsw: a doc_ids filter over at most this many chunks is searched exactly

    def __init__(self, dimension: int, index_type: IndexType, index: faiss.IndexIDMap2 | None = None) -> None:
        self.dimension = dimension
        self.index_type = index_type
        if index is None:
            base: Any
            if index_type == "flat":
                base = faiss.IndexFlatIP(dimension)
            elif index_type == "hnsw":
                base = faiss.IndexHNSWFlat(dimension, self.HNSW_M, faiss.METRIC_INNER_PRODUCT)
                base.hnsw.efConstruction = self.HNSW_EF_CONSTRUCTION
            else:
                raise ValueError(f"unknown index type {index_type!r}; use 'flat' or 'hnsw'")
            index = faiss.IndexIDMap2(base)
        self.index = index
        self.tombstones: set[int] = set()
        self._skip_tombstones: Any = None  # cached IDSelector over the tombstones

    def all_ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64, copy=False)

    def live_count(self) -> int:
        return self.index.ntotal - len(self.tombstones)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: Collection[int]) -> None:
        if not ids:
            return
        if self.index_type == "flat":
            self.index.remove_ids(faiss.IDSelectorBatch(np.fromiter(ids, dtype=np.int64, count=len(ids))))
        else:
            self.tombstones.update(ids)
            self._skip_tombstones = None

    def needs_compaction(self) -> bool:
        return bool(self.tombstones) and len(self.tombstones) > 0.25 * self.index.ntotal

    def compacted(self) -> VectorIndex:
        live = np.setdiff1d(self.all_ids(), np.fromiter(self.tombstones, dtype=np.int64), assume_unique=True)
        fresh = VectorIndex(self.dimension, self.index_type)
        fresh.add(live, self.index.reconstruct_batch(live) if len(live) else np.zeros((0, self.dimension), np.float32))
        return fresh

    def search(self, query: np.ndarray, k: int, subset: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of the best `k` live vectors (restricted to `subset` if given), best first."""
        k = min(k, self.live_count() if subset is None else len(subset))
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if self.index_type == "flat":
            selector = None if subset is None else faiss.IDSelectorBatch(subset)
            params = None if selector is None else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        elif subset is not None and len(subset) <= self.EXACT_SUBSET:
            subset = subset[np.isin(subset, self.all_ids())]  # a read-only store may lag behind SQLite
            if not len(subset):
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            k = min(k, len(subset))
            vectors = self.index.reconstruct_batch(subset)
            scores = vectors @ query[0]
            order = np.argsort(-scores, kind="stable")[:k]
            return scores[order], subset[order]
        else:
            if subset is not None:
                selector = faiss.IDSelectorBatch(subset)
            elif self.tombstones:
                if self._skip_tombstones is None:
                    tombstones = np.fromiter(self.tombstones, dtype=np.int64, count=len(self.tombstones))
                    batch = faiss.IDSelectorBatch(tombstones)
                    self._skip_tombstones = (faiss.IDSelectorNot(batch), batch)  # keep `batch` alive
                selector = self._skip_tombstones[0]
            else:
                selector = None
            params = faiss.SearchParametersHNSW(efSearch=max(self.HNSW_EF_SEARCH, 2 * k))  # type: ignore[attr-defined]
            if selector is not None:
                params.sel = selector
        scores, ids = self.index.search(query, k, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def serialize(self) -> np.ndarray:
        return faiss.serialize_index(self.index)

    @classmethod
    def deserialize(cls, data: np.ndarray, dimension: int, index_type: IndexType) -> VectorIndex:
        index = faiss.deserialize_index(data)
        if not isinstance(index, faiss.IndexIDMap2) or index.d != dimension:
            raise ValueError("not an IndexIDMap2 of the expected dimension")
        return cls(dimension, index_type, index)
