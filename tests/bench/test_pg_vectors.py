"""bench.pg_vectors on a small set: the numbers it reports are there and recall is a fraction."""

from __future__ import annotations

from bench.pg_vectors import bench_pg_vectors, markdown


def test_pgvector_bench_reports_build_time_and_recall_per_ef_search(postgres_url):
    result = bench_pg_vectors(postgres_url, 2_000, 20, ef_search=(10, 100), exact_queries=2, log=lambda *_: None)
    assert [row["ef_search"] for row in result["hnsw"]] == [10, 100]
    assert all(0.0 <= row["recall_at_10"] <= 1.0 for row in result["hnsw"])
    assert result["exact_recall_at_10"] == 1.0  # the sequential scan is exact search
    assert result["build_s"] > 0 and result["pgvector"].startswith("0.")
    assert "| 100 |" in markdown(result)
