"""API keys against the real app: every route × {no key, unknown key, reader, writer, admin, key of another
collection}, keys made beside a running server (as the CLI does), revocation at once, the audit log, keys
not stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from api.app import create_app
from api.auth import Access, RateLimits
from index.store import open_key_store
from index.store.sqlite_keys import ACCESS_DB_FILE
from qa.keys import KeyService
from tests.conftest import seeded_client

PUBLIC = {"/health", "/", "/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"}
ROLES = ("reader", "writer", "admin")
UNKNOWN_KEY = "spanqa_0123456789ab_" + "A" * 43
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


OTHER = "key of another collection"  # a writer key for collection "team-b" only
UNSCOPED = {"/metrics", "/collections"}  # routes that act on no collection


def needed_role(path: str, method: str) -> str | None:
    """The least role a route needs (None: public). New routes fall under these rules too."""
    if path in PUBLIC:
        return None
    if path.startswith(("/keys", "/audit")) or (path.startswith("/collections") and method in ("POST", "DELETE")):
        if not path.startswith("/collections/{collection}/"):
            return "admin"
    return "writer" if method in WRITE_METHODS and not path.endswith("/ask") else "reader"


def acts_on_a_collection(path: str) -> bool:
    """Routes on `default` (un-prefixed) or on /collections/{collection}/...: a key must be allowed to use it."""
    return path.startswith("/collections/{collection}/") or not (
        path in PUBLIC or path in UNSCOPED or path.startswith(("/keys", "/audit", "/collections"))
    )


def app_routes() -> list[tuple[str, str]]:
    from qa.settings import Settings

    app = create_app(Settings(_env_file=None), key_store=open_key_store(Path("."), backend="memory"))
    paths = app.openapi()["paths"]
    return sorted((path, method.upper()) for path, operations in paths.items() for method in operations) + [
        ("/", "GET")
    ]


@pytest.fixture(scope="module")
def served(base_settings, embedder, reader, tmp_path_factory) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    """The real app (auth auto, on loopback) and one key per role, created beside it as the CLI does."""
    data_dir = tmp_path_factory.mktemp("auth-data")
    for client in seeded_client(base_settings, embedder, reader, data_dir):
        for name in ("team-a", "team-b"):  # auth is off until the first key exists
            assert client.post("/collections", json={"name": name}).status_code == 201
        service = KeyService(open_key_store(data_dir))
        scopes = {"reader": ["default", "team-a"], "writer": ["default", "team-a"], "admin": None}
        keys = {role: service.create(f"{role} key", role, scopes[role]).key for role in ROLES}
        keys[OTHER] = service.create("team-b writer", "writer", ["team-b"]).key
        yield client, keys, data_dir


def concrete(path: str) -> str:
    """The route with its parameters filled: collection `team-a` (which the role keys may use), else
    a name that does not exist."""
    return re.sub(r"\{[^}]+\}", "no-such-thing", path.replace("{collection}", "team-a"))


@pytest.mark.parametrize(("path", "method"), app_routes())
@pytest.mark.parametrize("caller", ["no key", "unknown key", *ROLES, OTHER])
def test_every_route_answers_each_caller_as_its_role_says(served, path, method, caller):
    client, keys, _ = served
    headers = {"Content-Type": "application/json"}
    if caller != "no key":
        headers["Authorization"] = f"Bearer {keys.get(caller, UNKNOWN_KEY)}"
    body = b"{}" if method in WRITE_METHODS else None
    response = client.request(method, concrete(path), content=body, headers=headers)
    needed = needed_role(path, method)
    if needed is None:
        assert response.status_code not in (401, 403), response.text
    elif caller == OTHER:
        if acts_on_a_collection(path):
            assert response.status_code == 403, response.text
            assert (
                response.json()["detail"]
                == f"this key cannot use collection {'team-a' if '{collection}' in path else 'default'!r}"
            )
        elif needed == "admin":
            assert response.status_code == 403, response.text
        else:
            assert response.status_code not in (401, 403), response.text
    elif caller in ("no key", "unknown key"):
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"] == "Bearer"
    elif ROLES.index(caller) < ROLES.index(needed):
        assert response.status_code == 403, response.text
        assert needed in response.json()["detail"]
    else:
        assert response.status_code not in (401, 403), response.text


def test_a_reader_asks_and_reads_but_cannot_write(served):
    client, keys, _ = served
    reader = {"Authorization": f"Bearer {keys['reader']}"}
    answer = client.post("/ask", json={"question": "What is the capital of France?"}, headers=reader)
    assert answer.status_code == 200
    assert client.get("/documents/seed", headers=reader).status_code == 200
    refused = client.post("/documents", json={"text": "A reader's note."}, headers=reader)
    assert refused.status_code == 403
    assert client.get("/documents", headers=reader).json()["total"] == 1


def test_a_key_revoked_beside_the_running_server_is_refused_at_once(served):
    client, _, data_dir = served
    cli_side = KeyService(open_key_store(data_dir))  # another connection, as `spanqa keys` opens
    new = cli_side.create("short-lived", "reader")
    headers = {"Authorization": f"Bearer {new.key}"}
    assert client.get("/documents", headers=headers).status_code == 200
    assert cli_side.revoke(new.record.id)
    assert client.get("/documents", headers=headers).status_code == 401


def test_admins_manage_keys_and_every_change_and_write_is_audited(served):
    client, keys, _ = served
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    made = client.post("/keys", json={"name": "ci", "role": "writer"}, headers=admin)
    assert made.status_code == 201
    new = made.json()
    assert new["key"].startswith(f"spanqa_{new['id']}_") and new["role"] == "writer"
    assert "key" not in client.get("/keys", headers=admin).json()[0]
    writer = {"Authorization": f"Bearer {new['key']}"}
    added = client.post("/documents", json={"text": "Audited note about owls.", "id": "owls"}, headers=writer)
    assert added.status_code == 201
    assert client.delete("/documents/owls", headers=writer).status_code == 204
    assert client.delete(f"/keys/{new['id']}", headers=admin).status_code == 204
    assert client.delete(f"/keys/{new['id']}", headers=admin).status_code == 404
    assert client.get("/documents", headers=writer).status_code == 401
    log = [(e["actor"], e["action"], e["target"]) for e in client.get("/audit", headers=admin).json()]
    admin_id = keys["admin"].split("_")[1]
    assert log[:4] == [
        (f"key:{admin_id}", "key.revoke", new["id"]),
        (f"key:{new['id']}", "DELETE /documents/{doc_id:path}", "/documents/owls"),
        (f"key:{new['id']}", "POST /documents", "/documents -> owls"),
        (f"key:{admin_id}", "key.create", f"{new['id']} (writer)"),
    ]


def test_keys_are_not_recoverable_from_what_is_stored(served):
    _, keys, data_dir = served
    stored = b"".join(p.read_bytes() for p in data_dir.glob(ACCESS_DB_FILE + "*"))
    for key in keys.values():
        _, key_id, secret = key.split("_", 2)
        assert key_id.encode() in stored  # the row is there ...
        assert secret.encode() not in stored and key.encode() not in stored  # ... the secret is not
    record = KeyService(open_key_store(data_dir)).store.get_key(keys["reader"].split("_")[1])
    assert len(record.digest) == 64 and record.salt  # HMAC-SHA256 with a per-key salt


def test_a_wrong_secret_for_a_real_key_id_is_refused(served):
    client, keys, _ = served
    key_id = keys["admin"].split("_")[1]
    forged = f"spanqa_{key_id}_" + "B" * 43
    assert client.get("/keys", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_auto_mode_on_loopback_is_open_until_the_first_key_exists(base_settings, embedder, reader, tmp_path):
    for client in seeded_client(base_settings, embedder, reader, tmp_path / "data"):
        assert client.get("/documents").status_code == 200
        assert client.get("/keys").status_code == 401  # key management always needs an admin key
        KeyService(open_key_store(tmp_path / "data")).create("first", "admin")
        assert client.get("/documents").status_code == 401


@pytest.mark.parametrize(
    ("served_on", "arrived_on", "needed"),
    [
        ("127.0.0.1", ("127.0.0.1", 8000), False),
        ("127.0.0.1", ("testserver", 80), False),
        ("127.0.0.1", ("192.0.2.7", 8000), True),  # `uvicorn --host 0.0.0.0`, a request from the network
        ("0.0.0.0", ("127.0.0.1", 8000), True),
        ("::1", ("::1", 8000), False),
    ],
)
def test_auto_mode_needs_a_key_for_requests_from_the_network_even_before_the_first(served_on, arrived_on, needed):
    """The connection's own local address (ASGI `server`) tells a request from the network from one on
    loopback, so a server started without `spanqa serve`'s check is still closed to the network."""
    access = Access(open_key_store(Path("."), backend="memory"), mode="auto", host=served_on, limits=RateLimits())
    request = Request({"type": "http", "server": arrived_on, "headers": [], "method": "GET", "path": "/"})
    assert access.required(request) is needed
