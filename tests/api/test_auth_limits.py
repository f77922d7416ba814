"""Rate limits (429 with Retry-After), `spanqa serve` refusing a public address without keys, and
`spanqa keys` beside the data directory, through the real app and the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from index.store import open_key_store
from qa.collections import create_collection
from qa.keys import KeyService
from tests.conftest import seeded_client
from tests.fakes import fast_settings


def _spanqa(args: list[str], data_dir, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "SPANQA_DATA_DIR": str(data_dir), **env}
    return subprocess.run(
        [sys.executable, "-c", "from cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )


def test_asks_over_the_limit_get_429_with_retry_after(base_settings, embedder, reader, tmp_path):
    settings = base_settings.model_copy(update={"rate_limit_ask": "2/minute", "rate_limit_write": "1/minute"})
    for client in seeded_client(settings, embedder, reader, tmp_path / "data"):
        question = {"question": "What is the capital of France?"}
        assert [client.post("/ask", json=question).status_code for _ in range(2)] == [200, 200]
        over = client.post("/ask", json=question)
        assert over.status_code == 429
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        assert "rate limit" in over.json()["detail"]
        # the seed upload spent this address's one write; reads are not limited
        assert client.post("/documents", json={"text": "One more note."}).status_code == 429
        assert client.get("/documents").status_code == 200


def test_limits_count_per_key(base_settings, embedder, reader, tmp_path):
    settings = base_settings.model_copy(update={"rate_limit_write": "1/minute"})
    for client in seeded_client(settings, embedder, reader, tmp_path / "data"):
        service = KeyService(open_key_store(tmp_path / "data"))
        first, second = (service.create(name, "writer").key for name in ("a", "b"))
        for key in (first, second):
            headers = {"Authorization": f"Bearer {key}"}
            assert client.post("/documents", json={"text": f"Note by {key[:14]}."}, headers=headers).status_code == 201
            assert client.post("/documents", json={"text": "Again."}, headers=headers).status_code == 429


def test_serve_on_a_public_address_without_keys_refuses_and_says_how(tmp_path):
    result = _spanqa(["serve", "--host", "0.0.0.0", "--port", "8799"], tmp_path / "data")
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "refusing to serve on 0.0.0.0" in message
    assert "spanqa keys create --name admin --role admin" in message and "SPANQA_AUTH=off" in message


def test_keys_cli_creates_lists_and_revokes(tmp_path):
    created = _spanqa(["keys", "create", "--name", "ops", "--role", "admin", "--json"], tmp_path / "data")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert set(key) == {"id", "name", "role", "collections", "key"} and key["role"] == "admin"
    verified = KeyService(open_key_store(tmp_path / "data")).verify(key["key"])
    assert verified is not None and verified.id == key["id"]
    listed = json.loads(_spanqa(["keys", "list", "--json"], tmp_path / "data").stdout)
    assert [(k["id"], k["revoked_at"]) for k in listed] == [(key["id"], None)]
    assert key["key"] not in json.dumps(listed)
    assert _spanqa(["keys", "revoke", key["id"]], tmp_path / "data").returncode == 0
    assert KeyService(open_key_store(tmp_path / "data")).verify(key["key"]) is None
    assert _spanqa(["keys", "revoke", key["id"]], tmp_path / "data").returncode == 1
    bad = _spanqa(["keys", "create", "--name", "x", "--role", "root"], tmp_path / "data")
    assert bad.returncode == 2 and "unknown role" in bad.stderr
    assert key["collections"] == ["*"]  # admins: every collection


def test_keys_cli_scopes_a_key_to_existing_collections(tmp_path):
    data_dir = tmp_path / "data"
    create_collection(fast_settings(data_dir), "team-a")
    scoped = _spanqa(
        ["keys", "create", "--name", "a", "--collection", "team-a", "--collection", "default", "--json"], data_dir
    )
    assert scoped.returncode == 0, scoped.stderr
    assert json.loads(scoped.stdout)["collections"] == ["team-a", "default"]
    plain = json.loads(_spanqa(["keys", "create", "--name", "b", "--role", "writer", "--json"], data_dir).stdout)
    assert plain["collections"] == ["default"]
    missing = _spanqa(["keys", "create", "--name", "c", "--collection", "team-b"], data_dir)
    assert missing.returncode == 2 and "no collection 'team-b'" in " ".join(missing.stderr.split())
    listed = json.loads(_spanqa(["keys", "list", "--json"], data_dir).stdout)
    assert [k["collections"] for k in listed] == [["team-a", "default"], ["default"]]


def test_cors_answers_only_the_configured_origins(base_settings, embedder, reader, tmp_path):
    settings = base_settings.model_copy(update={"allowed_origins": "https://app.example.com"})
    for client in seeded_client(settings, embedder, reader, tmp_path / "data"):
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        allowed = client.options("/ask", headers={"Origin": "https://app.example.com", **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        refused = client.options("/ask", headers={"Origin": "https://evil.example", **preflight})
        assert "Access-Control-Allow-Origin" not in refused.headers
        read = client.get("/documents", headers={"Origin": "https://app.example.com"})
        assert read.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert "Access-Control-Allow-Origin" not in client.get("/documents").headers
