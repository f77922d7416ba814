"""spanqa benchmark: ingest throughput, /ask over HTTP under load, server memory, FAISS search.

    python -m bench.bench [--quick] [--out bench.json] [--with-1m] [--markdown]

Prints tables and writes the numbers (with the date and the machine) to a JSON file.
`--quick` (a small corpus, a few requests, 10k vectors) is what the test suite runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from bench.corpus import SQUAD_DIR, load_corpus
from bench.faiss_search import bench_size
from bench.http_load import load_ask, warm_up
from bench.ingest import bench_ingest
from bench.ingest_scaling import SIZES as SCALING_SIZES
from bench.ingest_scaling import bench_scaling
from bench.ingest_scaling import markdown as scaling_markdown
from bench.server import serve


@dataclass(frozen=True)
class Plan:
    max_paragraphs: int | None  # None = every context of both shared SQuAD files
    requests: dict[int, int]  # concurrency -> requests sent
    faiss: list[tuple[int, int, int | None]]  # (vectors, HNSW queries, flat queries)
    scaling: tuple[int, ...] = SCALING_SIZES  # corpus sizes (chunks) for single-document POST /documents
    scaling_posts: int = 30
    pg_vectors: int = 20_000  # pgvector HNSW alone at this size (0: skip); README has 1M (bench.pg_vectors)
    backends: bool = True  # SQLite + FAISS vs PostgreSQL on the ingested corpus (bench.pg_backends)


FULL = Plan(
    max_paragraphs=None,
    requests={1: 60, 4: 100, 16: 160},
    faiss=[(10_000, 200, None), (100_000, 200, None)],
)
QUICK = Plan(
    max_paragraphs=24,
    requests={1: 4, 4: 8, 16: 16},
    faiss=[(10_000, 50, None)],
    scaling=(200, 2_000),
    scaling_posts=3,
    pg_vectors=0,
    backends=False,
)
MILLION = (1_000_000, 100, 20)  # flat at 1M takes ~0.1 s a query on 2 cores: fewer queries


def machine() -> dict[str, Any]:
    import faiss
    import torch

    from train.machine import cpu_name

    return {
        "cpu_cores": os.cpu_count(),
        "cpu": cpu_name(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "faiss": faiss.__version__,
        "platform": platform.platform(),
    }


def configured() -> dict[str, Any]:
    """The settings that shape the numbers (the server and the ingest both use these)."""
    from qa.settings import Settings

    settings = Settings().model_dump(mode="json")
    keys = (
        "backend",
        "onnx_precision",
        "retrieval",
        "rerank",
        "index_type",
        "top_k",
        "chunk_tokens",
        "chunk_overlap",
        "torch_threads",
        "batch_max_questions",
        "batch_window_ms",
        "embedding_model",
        "reader_model",
    )
    return {k: settings[k] for k in keys if k in settings}


def run(plan: Plan, *, squad_dir: Path, work_dir: Path, console: Console, levers: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if plan is QUICK else "full",
        "machine": machine(),
        "settings": configured(),
    }
    if levers:
        # Before/after of each speed lever, measured back to back on the same inputs, and
        # before the HTTP load so the two never compete for the cores.
        from bench.levers import FULL as LEVERS_FULL
        from bench.levers import QUICK as LEVERS_QUICK
        from bench.levers import measure_levers

        console.log("speed levers: before/after")
        results["levers"] = measure_levers(
            LEVERS_QUICK if plan is QUICK else LEVERS_FULL,
            squad_dir=squad_dir,
            work_dir=work_dir / "levers",
            log=console.log,
        )
    corpus = load_corpus(squad_dir, plan.max_paragraphs)
    data_dir = work_dir / "index"

    console.log(f"ingest: {len(corpus.paragraphs)} paragraphs")
    results["ingest"] = bench_ingest(corpus, data_dir)

    console.log("starting the server (uvicorn, one worker)")
    with serve(data_dir, log_dir=work_dir) as server:
        assert server.sampler is not None
        warm_up(server.url, corpus.questions)
        idle_rss = server.sampler.current_bytes()
        levels = []
        offset = 0
        for concurrency, requests in plan.requests.items():
            console.log(f"/ask: {requests} requests at concurrency {concurrency}")
            levels.append(load_ask(server.url, corpus.questions, concurrency, requests, offset))
            offset += requests
        hwm = server.sampler.high_water_bytes()
        results["ask"] = levels
        results["server"] = {
            "startup_s": server.startup_s,
            "rss_idle_mb": idle_rss / 2**20,
            "peak_rss_sampled_mb": server.sampler.peak_bytes / 2**20,
            "peak_rss_mb": (hwm if hwm is not None else server.sampler.peak_bytes) / 2**20,
            "documents": len(corpus.paragraphs),
            "chunks": results["ingest"]["chunks"],
        }

    faiss_rows = []
    for n, queries, flat_queries in plan.faiss:
        console.log(f"faiss: {n:,} vectors")
        faiss_rows.extend(bench_size(n, queries, flat_queries=flat_queries))
    results["faiss"] = faiss_rows
    console.log(f"ingest scaling: single-document POST /documents at {plan.scaling} chunks")
    results["ingest_scaling"] = bench_scaling(
        load_corpus(squad_dir, None), work_dir / "scaling", plan.scaling, plan.scaling_posts, log=console.log
    )
    _postgres(plan, results, corpus, data_dir, work_dir, console)
    # Other processes on the machine skew every number: say how busy it was.
    results["machine"]["load_average_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    return results


def _postgres(
    plan: Plan, results: dict[str, Any], corpus: Any, data_dir: Path, work_dir: Path, console: Console
) -> None:
    """pgvector alone, and the two store backends on the ingested corpus (a throwaway PostgreSQL)."""
    if plan.pg_vectors:
        from bench.pg_vectors import bench_pg_vectors

        console.log(f"pgvector: {plan.pg_vectors:,} vectors")
        results["pgvector"] = bench_pg_vectors(None, plan.pg_vectors, 200, log=console.log)
    if plan.backends:
        from bench.pg_backends import bench_backends
        from index.embedder import Embedder
        from qa.settings import Settings

        s = Settings()
        embedder = Embedder(
            s.embedding_model, backend=s.backend, onnx_precision=s.onnx_precision, cache_dir=s.model_cache
        )
        console.log("store backends: sqlite-faiss vs postgres")
        results["backends"] = bench_backends(data_dir, corpus.questions[:200], embedder.encode, work_dir / "backends")
        from bench.pg_http import bench_backends_http

        requests = 40 if plan is QUICK else 200
        results["backends_http"] = bench_backends_http(
            data_dir, corpus.questions, work_dir / "pg-http", requests=requests, log=console.log
        )


def tables(results: dict[str, Any]) -> list[Table]:
    ing = results["ingest"]
    t1 = Table(title=f"Ingest (Pipeline.ingest_many, embedding batch {ing.get('embed_batch_size', '?')})")
    for col in ("documents", "chunks", "seconds", "docs/s", "chunks/s"):
        t1.add_column(col, justify="right")
    t1.add_row(
        str(ing["documents"]),
        str(ing["chunks"]),
        f"{ing['seconds']:.1f}",
        f"{ing['documents_per_s']:.1f}",
        f"{ing['chunks_per_s']:.1f}",
    )
    t2 = Table(title=f"POST /ask over HTTP ({results['server']['chunks']} chunks indexed)")
    for col in ("concurrency", "requests", "errors", "p50 ms", "p95 ms", "p99 ms", "req/s"):
        t2.add_column(col, justify="right")
    for level in results["ask"]:
        t2.add_row(
            str(level["concurrency"]),
            str(level["requests"]),
            str(sum(level["errors"].values())),
            _f(level["p50_ms"], 0),
            _f(level["p95_ms"], 0),
            _f(level["p99_ms"], 0),
            _f(level["throughput_rps"], 2),
        )
    srv = results["server"]
    t2.caption = (
        f"server peak RSS {srv['peak_rss_mb']:.0f} MB (idle {srv['rss_idle_mb']:.0f} MB),"
        f" startup {srv['startup_s']:.1f} s"
    )
    t3 = Table(title="FAISS search alone (384-d synthetic, one query at a time)")
    for col in ("vectors", "index", "build s", "ms/query", "recall@10 vs flat"):
        t3.add_column(col, justify="right")
    for row in results["faiss"]:
        t3.add_row(
            f"{row['vectors']:,}",
            row["index"],
            f"{row['build_s']:.1f}",
            f"{row['ms_per_query']:.3f}",
            f"{row['recall_at_10']:.3f}",
        )
    t4 = Table(title="Single-document POST /documents as the corpus grows")
    for col in ("corpus chunks", "posts", "docs/s", "vs smallest"):
        t4.add_column(col, justify="right")
    for row in results.get("ingest_scaling", []):
        t4.add_row(
            f"{row['corpus_chunks']:,}",
            str(row["posts"]),
            f"{row['documents_per_s']:.1f}",
            f"{100 * row['relative_to_smallest']:.0f}%",
        )
    tables = [t1, t2, t3, t4]
    if "pgvector" in results:
        pg = results["pgvector"]
        t5 = Table(title=f"pgvector HNSW alone ({pg['vectors']:,} vectors, build {pg['build_s']:.0f} s)")
        for col in ("ef_search", "ms/query", "recall@10 vs exact"):
            t5.add_column(col, justify="right")
        for row in pg["hnsw"]:
            t5.add_row(str(row["ef_search"]), f"{row['ms_per_query']:.2f}", f"{row['recall_at_10']:.3f}")
        tables.append(t5)
    if "backends" in results:
        t6 = Table(title="Store backends on the same corpus (one document per transaction; one query at a time)")
        for col in ("store", "chunks", "add docs/s", "vector ms", "keyword ms"):
            t6.add_column(col, justify="right")
        for row in results["backends"]:
            t6.add_row(
                row["backend"],
                str(row["chunks"]),
                f"{row['ingest_docs_per_s']:.0f}",
                f"{row['vector_ms_per_query']:.2f}",
                f"{row['keyword_ms_per_query']:.2f}",
            )
        tables.append(t6)
    return tables


def _f(x: float | None, digits: int) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _load_note(m: dict[str, Any]) -> str:
    start, end = m.get("load_average_at_start"), m.get("load_average_at_end")
    if not start or not end:
        return ""
    return f", 1-minute load average {start[0]:.1f} at start and {end[0]:.1f} at end"


def markdown(results: dict[str, Any]) -> str:
    """The README's performance section, from bench.json."""
    m = results["machine"]
    ing = results["ingest"]
    srv = results["server"]
    lines = [
        f"Measured {results['date'][:10]} on {m['cpu_cores']} CPU cores ({m['cpu']}, {m['memory_gb']} GB RAM), "
        f"torch {m['torch']}, faiss {m['faiss']}; `python -m bench.bench` ({results['mode']})" + _load_note(m) + ".",
        "",
        "| ingest | documents | chunks | docs/s | chunks/s |",
        "|---|---|---|---|---|",
        f"| `Pipeline.ingest_many`, embedding batch {ing.get('embed_batch_size', '?')} | {ing['documents']} | {ing['chunks']} | {ing['documents_per_s']:.1f} |"
        f" {ing['chunks_per_s']:.1f} |",
        "",
        f"| `POST /ask` ({srv['chunks']} chunks) | requests | p50 ms | p95 ms | p99 ms | req/s |",
        "|---|---|---|---|---|---|",
    ]
    for level in results["ask"]:
        lines.append(
            f"| concurrency {level['concurrency']} | {level['requests']} | {_f(level['p50_ms'], 0)} | "
            f"{_f(level['p95_ms'], 0)} | {_f(level['p99_ms'], 0)} | {_f(level['throughput_rps'], 2)} |"
        )
    lines += [
        "",
        f"Server peak resident memory: {srv['peak_rss_mb']:.0f} MB (idle after start {srv['rss_idle_mb']:.0f} MB).",
        "",
        "| FAISS, 384-d | index | build s | ms/query | recall@10 vs flat |",
        "|---|---|---|---|---|",
    ]
    for row in results["faiss"]:
        lines.append(
            f"| {row['vectors']:,} | {row['index']} | {row['build_s']:.1f} | {row['ms_per_query']:.3f} |"
            f" {row['recall_at_10']:.3f} |"
        )
    if results.get("ingest_scaling"):
        lines += ["", scaling_markdown(results["ingest_scaling"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpus, few requests, 10k vectors only")
    parser.add_argument("--out", type=Path, default=Path("bench.json"), help="where to write the numbers")
    parser.add_argument("--with-1m", action="store_true", help="also FAISS at 1M vectors (HNSW build takes minutes)")
    parser.add_argument("--squad-dir", type=Path, default=SQUAD_DIR, help="folder of the shared SQuAD files")
    parser.add_argument("--markdown", action="store_true", help="also print the README performance section")
    parser.add_argument(
        "--pg-vectors", type=int, default=None, help="pgvector HNSW alone at this many vectors (0: skip; full: 20k)"
    )
    parser.add_argument(
        "--backends",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compare the SQLite + FAISS and PostgreSQL stores on the corpus (default: on in full mode)",
    )
    parser.add_argument(
        "--levers",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure each speed lever before/after (default: on in full mode, off with --quick)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    plan = QUICK if args.quick else FULL
    if args.pg_vectors is not None or args.backends is not None:
        plan = replace(
            plan,
            pg_vectors=plan.pg_vectors if args.pg_vectors is None else args.pg_vectors,
            backends=plan.backends if args.backends is None else args.backends,
        )
    if args.with_1m:
        plan = replace(plan, faiss=[*plan.faiss, MILLION])
    console = Console()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="spanqa-bench-") as tmp:
        levers = (not args.quick) if args.levers is None else args.levers
        results = run(plan, squad_dir=args.squad_dir, work_dir=Path(tmp), console=console, levers=levers)
    results["bench_seconds"] = time.perf_counter() - t0
    for table in tables(results):
        console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {args.out}")
    if "levers" in results:
        from bench.levers import markdown as levers_markdown

        console.print(levers_markdown(results["levers"]))
    if "backends_http" in results:
        from bench.pg_http import markdown as backends_http_markdown

        console.print(backends_http_markdown(results["backends_http"]))
    if args.markdown:
        print(markdown(results))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
