"""Single-document ingest over HTTP as the corpus grows: `POST /documents` docs/s at ~1k, 10k, 100k chunks.

    python -m bench.ingest_scaling [--quick] [--sizes 1000,10000,100000] [--posts 30]

Each size gets a fresh index, prefilled through `store.add_many` with synthetic chunks (words drawn
from the SQuAD paragraphs, so the keyword index has realistic postings) and random unit vectors: no
embedding, so 100k chunks take seconds, not half an hour. Then a real server (uvicorn, one worker)
takes SQuAD paragraphs one `POST /documents` at a time, each embedded and stored as a user's upload
would be; docs/s is over those posts (one warm-up post first, not counted).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.corpus import SQUAD_DIR, BenchCorpus, load_corpus
from bench.server import serve

SIZES = (1_000, 10_000, 100_000)
CHUNKS_PER_DOCUMENT = 10
WORDS_PER_CHUNK = 110
DIMENSION = 384  # the shipped MiniLM embedder


def prefill(data_dir: Path, chunks: int, vocabulary: list[str], seed: int = 0) -> int:
    """A fresh index at `data_dir` holding `chunks` synthetic chunks; the number stored."""
    from index.embedder import model_identity
    from index.store import StoreConfig, open_store
    from index.types import Chunk, Document
    from qa.settings import Settings

    settings = Settings()
    config = StoreConfig(data_dir, DIMENSION, model_identity(settings.embedding_model), index_type=settings.index_type)
    rng, words = np.random.default_rng(seed), random.Random(seed)
    store = open_store(config)
    try:
        batch: list[tuple[Document, list[Chunk], np.ndarray]] = []
        for number in range(max(1, chunks // CHUNKS_PER_DOCUMENT)):
            texts = [" ".join(words.choices(vocabulary, k=WORDS_PER_CHUNK)) + "." for _ in range(CHUNKS_PER_DOCUMENT)]
            text, pieces, start = " ".join(texts), [], 0
            for piece in texts:
                pieces.append(Chunk(f"synthetic-{number}", start, start + len(piece), piece))
                start += len(piece) + 1
            vectors = rng.standard_normal((len(pieces), DIMENSION)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            batch.append((Document(id=f"synthetic-{number}", title=f"Synthetic {number}", text=text), pieces, vectors))
            if len(batch) == 500:
                store.add_many(batch)
                batch = []
        if batch:
            store.add_many(batch)
        return store.count_chunks()
    finally:
        store.close()


def post_documents(url: str, paragraphs: list[tuple[str, str, str]]) -> float:
    """Seconds to `POST /documents` each paragraph, one after another; raises on any failed post."""
    with httpx.Client(base_url=url, timeout=120.0) as client:
        started = time.perf_counter()
        for pid, title, text in paragraphs:
            response = client.post("/documents", json={"id": f"posted-{pid}", "title": title, "text": text})
            if response.status_code != 201:
                raise RuntimeError(f"POST /documents answered {response.status_code}: {response.text[:300]}")
        return time.perf_counter() - started


def bench_scaling(
    corpus: BenchCorpus, work_dir: Path, sizes: tuple[int, ...] = SIZES, posts: int = 30, log: Callable = print
) -> list[dict[str, Any]]:
    vocabulary = sorted({word for _, _, text in corpus.paragraphs for word in text.split() if word.isalpha()})
    paragraphs = corpus.paragraphs[: posts + 1]
    rows = []
    for size in sizes:
        data_dir = work_dir / f"scaling-{size}"
        log(f"ingest scaling: prefilling {size:,} synthetic chunks")
        t0 = time.perf_counter()
        stored = prefill(data_dir, size, vocabulary)
        prefill_s = time.perf_counter() - t0
        with serve(data_dir, log_dir=work_dir) as server:
            post_documents(server.url, paragraphs[:1])  # warm-up: the first request loads lazily
            log(f"ingest scaling: {len(paragraphs) - 1} single-document posts into {stored:,} chunks")
            seconds = post_documents(server.url, paragraphs[1:])
        rows.append(
            {
                "corpus_chunks": stored,
                "posts": len(paragraphs) - 1,
                "seconds": seconds,
                "documents_per_s": (len(paragraphs) - 1) / seconds,
                "prefill_s": prefill_s,
            }
        )
    base = rows[0]["documents_per_s"]
    for row in rows:
        row["relative_to_smallest"] = row["documents_per_s"] / base
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| corpus chunks | posts | docs/s | vs smallest |", "|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['corpus_chunks']:,} | {row['posts']} | {row['documents_per_s']:.1f} |"
            f" {100 * row['relative_to_smallest']:.0f}% |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.ingest_scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 200 and 2,000, 5 posts")
    parser.add_argument("--sizes", type=str, default=None, help="comma-separated corpus sizes in chunks")
    parser.add_argument("--posts", type=int, default=30, help="documents posted per size")
    parser.add_argument("--squad-dir", type=Path, default=SQUAD_DIR)
    args = parser.parse_args(argv)
    sizes: tuple[int, ...] = (200, 2_000) if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    posts = 5 if args.quick else args.posts
    corpus = load_corpus(args.squad_dir, None)
    with tempfile.TemporaryDirectory(prefix="spanqa-scaling-") as tmp:
        rows = bench_scaling(corpus, Path(tmp), sizes, posts)
    print(markdown(rows))
    return rows


if __name__ == "__main__":
    main()
