"""Ingest throughput: documents and chunks per second through `Pipeline.ingest_many`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.corpus import BenchCorpus
from qa.pipeline import NewDocument, Pipeline
from qa.settings import Settings


def bench_ingest(corpus: BenchCorpus, data_dir: Path, settings: Settings | None = None) -> dict[str, Any]:
    """Indexes every paragraph into a fresh index at `data_dir` (left there for serving).

    Model loading is timed apart from ingest itself.
    """
    settings = (settings or Settings()).model_copy(update={"data_dir": data_dir})
    t0 = time.perf_counter()
    pipeline = Pipeline.from_settings(settings)
    load_s = time.perf_counter() - t0
    docs = [
        NewDocument(text=text, title=title, id=pid, metadata={"article": title})
        for pid, title, text in corpus.paragraphs
    ]
    chars = sum(len(d.text) for d in docs)
    try:
        t1 = time.perf_counter()
        results = pipeline.ingest_many(docs)
        seconds = time.perf_counter() - t1
    finally:
        pipeline.close()
    chunks = sum(r.chunks for r in results)
    return {
        "documents": len(results),
        "chunks": chunks,
        "characters": chars,
        "seconds": seconds,
        "documents_per_s": len(results) / seconds,
        "chunks_per_s": chunks / seconds,
        "model_load_s": load_s,
        "embed_batch_size": settings.embed_batch_size,
    }
