"""`GET /metrics` parsed by prometheus-client's own parser, request ids, and JSON log lines."""

from __future__ import annotations

import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from api.request_log import JsonFormatter
from index.store import open_key_store
from qa.keys import KeyService
from tests.conftest import seeded_client


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_metrics_count_requests_stages_answers_and_the_index(base_settings, embedder, reader, tmp_path):
    for client in seeded_client(base_settings, embedder, reader, tmp_path / "data"):
        assert client.post("/ask", json={"question": "What is the capital of France?"}).status_code == 200
        assert client.get("/documents/seed").status_code == 200
        assert client.get("/documents/missing").status_code == 404
        response = client.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        families = _families(response.text)
        requests = {
            (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
            for s in families["spanqa_http_requests"].samples
            if s.name.endswith("_total")
        }
        assert requests[("GET", "/documents/{doc_id:path}", "200")] == 1
        assert requests[("GET", "/documents/{doc_id:path}", "404")] == 1
        assert requests[("POST", "/documents", "201")] == 1  # the seed upload
        stages = {s.labels["stage"] for s in families["spanqa_ask_stage_seconds"].samples}
        assert {"embed", "search", "read"} <= stages
        asks = sum(s.value for s in families["spanqa_asks"].samples if s.name.endswith("_total"))
        assert asks == 1
        pipeline = client.app.state.pipeline
        assert families["spanqa_documents"].samples[0].value == pipeline.count_documents() == 1
        assert families["spanqa_chunks"].samples[0].value == pipeline.count_chunks()
        assert families["spanqa_jobs"].samples[0].value == pipeline.jobs.count_jobs() == 0


def test_metrics_need_a_reader_key_once_auth_is_on(base_settings, embedder, reader, tmp_path):
    for client in seeded_client(base_settings, embedder, reader, tmp_path / "data"):
        key = KeyService(open_key_store(tmp_path / "data")).create("prometheus", "reader").key
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_every_response_carries_a_request_id_and_a_sane_incoming_one_is_kept(base_settings, embedder, reader, tmp_path):
    for client in seeded_client(base_settings, embedder, reader, tmp_path / "data"):
        first, second = client.get("/health"), client.get("/documents/missing")
        assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
        assert client.get("/health", headers={"X-Request-ID": "trace-42"}).headers["X-Request-ID"] == "trace-42"
        hostile = client.get("/health", headers={"X-Request-ID": "x" * 500}).headers["X-Request-ID"]
        assert hostile != "x" * 500 and len(hostile) == 32


def test_log_records_carry_the_request_id_and_format_as_json(base_settings, embedder, reader, tmp_path, caplog):
    for client in seeded_client(base_settings, embedder, reader, tmp_path / "data"):
        with caplog.at_level(logging.INFO, logger="spanqa.requests"):
            response = client.get("/health", headers={"X-Request-ID": "abc-123"})
        record = next(r for r in caplog.records if r.name == "spanqa.requests" and r.request_id == "abc-123")
        line = json.loads(JsonFormatter().format(record))
        assert line["request_id"] == "abc-123" and line["status"] == response.status_code == 200
        assert line["path"] == "/health" and line["level"] == "INFO" and "GET /health 200" in line["message"]
