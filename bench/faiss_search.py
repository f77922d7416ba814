"""FAISS alone: flat vs HNSW on synthetic 384-d vectors; time per query and HNSW recall@10.

The vectors are a Gaussian mixture (clusters around random unit centres, then L2-normalized)
so that neighbours mean something, as with sentence embeddings; uniform random vectors in
384 dimensions are all about equally far apart, which says little about real recall.
Queries are searched one at a time, as the service does.
"""

from __future__ import annotations

import time
from typing import Any

import faiss
import numpy as np

from index.store import VectorIndex

DIM = 384
# The service's own HNSW parameters, so the benchmark measures what `index_type=hnsw` runs.
HNSW_M = VectorIndex.HNSW_M
HNSW_EF_CONSTRUCTION = VectorIndex.HNSW_EF_CONSTRUCTION
HNSW_EF_SEARCH = VectorIndex.HNSW_EF_SEARCH


def synthetic_vectors(
    n: int, dim: int = DIM, *, seed: int = 0, clusters: int | None = None, block: int = 100_000
) -> np.ndarray:
    """`n` unit vectors in float32, drawn from a mixture of `clusters` Gaussians (default n/100)."""
    rng = np.random.default_rng(seed)
    centre_rng = np.random.default_rng(12345)  # the same centres for database and queries
    k = clusters or max(10, n // 100)
    centres = centre_rng.standard_normal((k, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), dtype=np.float32)
    for b in range(0, n, block):
        m = min(block, n - b)
        x = centres[rng.integers(k, size=m)] + rng.standard_normal((m, dim), dtype=np.float32) * 0.05
        out[b : b + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def _per_query_ms(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    ids = np.empty((len(queries), k), dtype=np.int64)
    t0 = time.perf_counter()
    for i in range(len(queries)):
        _, ids[i] = index.search(queries[i : i + 1], k)
    return (time.perf_counter() - t0) * 1000 / len(queries), ids


def bench_size(
    n: int, queries: int, *, k: int = 10, seed: int = 0, flat_queries: int | None = None
) -> list[dict[str, Any]]:
    """Flat and HNSW at `n` vectors: build time, ms/query (one at a time), HNSW recall@k vs flat."""
    base = synthetic_vectors(n, seed=seed, clusters=max(10, n // 100))
    query = synthetic_vectors(queries, seed=seed + 1, clusters=max(10, n // 100))
    rows = []

    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(base)
    flat_build = time.perf_counter() - t0
    _, truth = flat.search(query, k)  # batched: the exact neighbours
    nq_flat = min(queries, flat_queries or queries)
    flat_ms, _ = _per_query_ms(flat, query[:nq_flat], k)
    rows.append(
        {
            "vectors": n,
            "index": "flat",
            "build_s": flat_build,
            "queries": nq_flat,
            "ms_per_query": flat_ms,
            "recall_at_10": 1.0,
        }
    )
    del flat

    t0 = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.add(base)
    hnsw_build = time.perf_counter() - t0
    hnsw.hnsw.efSearch = HNSW_EF_SEARCH
    hnsw_ms, found = _per_query_ms(hnsw, query, k)
    recall = float(np.mean([len(set(found[i]) & set(truth[i])) / k for i in range(queries)]))
    rows.append(
        {
            "vectors": n,
            "index": f"hnsw (M={HNSW_M}, efC={HNSW_EF_CONSTRUCTION}, efS={HNSW_EF_SEARCH})",
            "build_s": hnsw_build,
            "queries": queries,
            "ms_per_query": hnsw_ms,
            "recall_at_10": recall,
        }
    )
    return rows
