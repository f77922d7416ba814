"""bench.http_backends on a few contexts: two real `spanqa serve` servers (SQLite + FAISS, and the
test PostgreSQL), ingest and questions over HTTP, the numbers it reports."""

from __future__ import annotations

from bench.http_backends import main


def test_both_backends_ingest_and_answer_over_http_with_exact_citations(postgres_url, tmp_path):
    results = main(
        ["--contexts", "16", "--questions", "6", "--database-url", postgres_url, "--work-dir", str(tmp_path)]
    )
    assert (results["contexts"], results["questions"]) == (16, 6)
    for backend in ("sqlite-faiss", "postgres"):
        row = results["backends"][backend]
        assert row["ingest"]["statuses"] == {201: 16} and row["statuses"] == {200: 6}
        assert row["citations"] > 0 and row["inexact_citations"] == 0
        assert 0.0 <= row["EM"] <= row["F1"] <= 100.0 and 0 < row["p50_ms"] <= row["p95_ms"]
    assert 0.0 <= results["same_best_answer_pct"] <= 100.0
