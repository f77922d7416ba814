"""Prometheus metrics (prometheus-client), one registry per app: requests by route template and status,
request latency, ask latency per stage (from the answer's `timings_ms`), answers vs no-answers, and the
documents, chunks and jobs counts of each open collection read at each scrape. Served by `GET /metrics`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.route_names import route_template

_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StoreCounts(Collector):
    """Gauges per collection read when scraped, e.g. `spanqa_documents{collection="default"}`,
    `spanqa_chunks{...}`, `spanqa_jobs{...}`; `counts()` gives {collection: {name: value}}."""

    def __init__(self, counts: Callable[[], dict[str, dict[str, int]]]) -> None:
        self.counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families: dict[str, GaugeMetricFamily] = {}
        for collection, values in self.counts().items():
            for name, value in values.items():
                if name not in families:
                    families[name] = GaugeMetricFamily(
                        f"spanqa_{name}", f"{name.capitalize()} in the store, per collection", labels=["collection"]
                    )
                families[name].add_metric([collection], value)
        yield from families.values()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "spanqa_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "spanqa_http_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.stages = Histogram(
            "spanqa_ask_stage_seconds",
            "Ask latency per stage",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter("spanqa_asks", "Questions asked, by outcome", ["outcome"], registry=self.registry)

    def watch_store(self, counts: Callable[[], dict[str, dict[str, int]]]) -> None:
        self.registry.register(StoreCounts(counts))

    def observe_ask(self, no_answer: bool, timings_ms: dict[str, float]) -> None:
        self.answers.labels("no_answer" if no_answer else "answered").inc()
        for stage, ms in timings_ms.items():
            self.stages.labels(stage).observe(ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """Counts and times every HTTP request by its route template (`/documents/{doc_id}`, not the id)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = route_template(scope) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
