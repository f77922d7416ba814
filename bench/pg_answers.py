"""Same answers on PostgreSQL as on SQLite + FAISS? Every shared SQuAD context, dev questions asked on both.

    python -m bench.pg_answers [--questions 400] [--database-url URL]

The contexts are ingested once (`Pipeline.ingest_many`, SQLite + FAISS), copied into PostgreSQL
with `index.store.migrate` (the same chunks and vectors: only the store differs), and the same dev
questions are asked through `Pipeline.ask` on each (hybrid retrieval, the default settings).
Prints SQuAD 2.0 EM/F1 per backend, how often the two give the same best answer, and ask latency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.corpus import DEV_ARTICLES, LABELLED, SQUAD_DIR, load_corpus
from bench.ingest import bench_ingest
from bench.pg_vectors import database
from index.store import StoreConfig, open_store
from index.store.migrate import location_config, migrate
from qa.eval.metrics import exact_match, f1
from qa.eval.squad import load_squad
from qa.pipeline import Pipeline
from qa.settings import Settings
from qa.wiring import make_embedder, make_reader


def _ask_all(pipeline: Pipeline, questions: list[Any]) -> tuple[dict[str, str], list[float]]:
    predictions, latencies = {}, []
    pipeline.ask(questions[0].question)  # warm up
    for q in questions:
        t0 = time.perf_counter()
        result = pipeline.ask(q.question)
        latencies.append((time.perf_counter() - t0) * 1000)
        predictions[q.id] = "" if result.no_answer or not result.answers else result.answers[0].text
    return predictions, latencies


def compare(url: str | None, n_questions: int, work_dir: Path) -> dict[str, Any]:
    questions = [q for q in load_squad([SQUAD_DIR / LABELLED]).questions if q.title in DEV_ARTICLES][:n_questions]
    settings = Settings().model_copy(update={"data_dir": work_dir / "sqlite"})
    ingest = bench_ingest(load_corpus(SQUAD_DIR, None), settings.data_dir, settings)
    embedder, reader = make_embedder(settings), make_reader(settings)  # shared by both pipelines
    sqlite = Pipeline(settings, embedder, reader)
    results: dict[str, Any] = {
        "documents": ingest["documents"],
        "chunks": ingest["chunks"],
        "questions": len(questions),
    }
    answers: dict[str, dict[str, str]] = {}
    try:
        with database(url) as dsn:
            migrate(location_config(settings.data_dir), location_config(dsn))
            store = open_store(StoreConfig(work_dir, embedder.dimension, embedder.identity, database_url=dsn))
            postgres = Pipeline(settings, embedder, reader, store)
            try:
                for name, pipeline in (
                    ("sqlite-faiss", sqlite),
                    ("postgres", postgres),
                    ("sqlite-faiss again", sqlite),
                ):
                    predictions, latencies = _ask_all(pipeline, questions)
                    answers.setdefault(name.split()[0], predictions)
                    results[name] = {
                        "EM": 100 * statistics.mean(exact_match(predictions[q.id], q.answers) for q in questions),
                        "F1": 100 * statistics.mean(f1(predictions[q.id], q.answers) for q in questions),
                        "p50_ms": statistics.median(latencies),
                        "p95_ms": statistics.quantiles(latencies, n=20)[-1],
                    }
            finally:
                store.close()
    finally:
        sqlite.close()
    same = sum(answers["sqlite-faiss"][q.id] == answers["postgres"][q.id] for q in questions)
    results["same_best_answer"] = same / len(questions)
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_answers", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL with pgvector (default: a throwaway one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="spanqa-pganswers-") as tmp:
        results = compare(args.database_url, args.questions, Path(tmp))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
