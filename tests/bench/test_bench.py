"""The benchmark runs end to end in quick mode: real ingest, a real uvicorn server, real FAISS."""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench import main, markdown
from qa.settings import Settings


def test_quick_benchmark_writes_its_numbers(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    results = main(["--quick", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["mode"] == "quick"
    assert saved["machine"]["cpu_cores"] >= 1

    ingest = saved["ingest"]
    assert ingest["documents"] == 24
    assert ingest["chunks"] >= ingest["documents"]
    assert ingest["chunks_per_s"] > 0 and ingest["documents_per_s"] > 0
    assert ingest["embed_batch_size"] == Settings().embed_batch_size

    assert [level["concurrency"] for level in saved["ask"]] == [1, 4, 16]
    for level in saved["ask"]:
        assert level["errors"] == {}
        assert level["ok"] == level["requests"]
        assert 0 < level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"]
        assert level["throughput_rps"] > 0
    server = saved["server"]
    assert server["peak_rss_mb"] >= server["rss_idle_mb"] > 100  # two transformer models loaded

    rows = {row["index"].split()[0]: row for row in saved["faiss"]}
    assert set(rows) == {"flat", "hnsw"}
    assert all(row["vectors"] == 10_000 for row in rows.values())
    assert rows["flat"]["recall_at_10"] == 1.0
    assert 0.5 <= rows["hnsw"]["recall_at_10"] <= 1.0
    assert rows["hnsw"]["ms_per_query"] > 0

    scaling = saved["ingest_scaling"]
    assert [row["corpus_chunks"] for row in scaling] == [200, 2_000]
    assert all(row["posts"] == 3 and row["documents_per_s"] > 0 for row in scaling)

    table = markdown(results)
    assert "| concurrency 16 |" in table and "CPU cores" in table and "| 2,000 | 3 |" in table
    assert f"embedding batch {Settings().embed_batch_size} |" in table
