"""`POST /ask` under load: fixed request counts at a fixed concurrency, over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx

from qa.eval.metrics import percentile


async def _load(url: str, questions: Sequence[str], concurrency: int, requests: int, offset: int) -> dict[str, Any]:
    latencies: list[float] = []
    server_total: list[float] = []
    errors: dict[str, int] = {}
    jobs = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=300.0, limits=limits) as client:

        async def worker() -> None:
            for i in jobs:
                question = questions[(offset + i) % len(questions)]
                t0 = time.perf_counter()
                try:
                    response = await client.post("/ask", json={"question": question})
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                elapsed = (time.perf_counter() - t0) * 1000
                if response.status_code != 200:
                    errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
                    continue
                latencies.append(elapsed)
                total = response.json().get("timings_ms", {}).get("total")
                if total is not None:
                    server_total.append(float(total))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {
        "concurrency": concurrency,
        "requests": requests,
        "ok": len(latencies),
        "errors": errors,
        "seconds": wall,
        "throughput_rps": len(latencies) / wall if wall else None,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "mean_ms": sum(latencies) / len(latencies) if latencies else None,
        "server_total_p50_ms": percentile(server_total, 50),
    }


def load_ask(url: str, questions: Sequence[str], concurrency: int, requests: int, offset: int = 0) -> dict[str, Any]:
    """Sends `requests` questions (cycling through `questions` from `offset`), `concurrency` at a time."""
    if not questions:
        raise ValueError("no questions to ask")
    return asyncio.run(_load(url, questions, concurrency, requests, offset))


def warm_up(url: str, questions: Sequence[str], n: int = 3) -> None:
    """A few requests first, so lazy initialisation is not measured."""
    with httpx.Client(base_url=url, timeout=300.0) as client:
        for question in list(questions)[:n]:
            client.post("/ask", json={"question": question}).raise_for_status()
