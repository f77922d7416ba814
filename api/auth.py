"""Who is asking, and may they: API keys (`Authorization: Bearer KEY`), roles, rate limits.

`Access` lives on `app.state.access`; routers get `Depends(require(...))` in api.app. Keys are looked
up in the key store on every request, so a key created or revoked by the CLI counts at once.
Missing or unknown key → 401 (with `WWW-Authenticate: Bearer`), a role below the route's → 403, over a
rate limit → 429 with `Retry-After`.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.deps import request_collection
from api.schemas import ErrorOut
from index.store import KeyStore
from qa.audit import AuditLog
from qa.keys import ALL_COLLECTIONS, KeyService, may_use, role_allows
from qa.settings import Settings

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
AUTH_RESPONSES: dict[int | str, dict] = {code: {"model": ErrorOut} for code in (401, 403, 429)}


@dataclass(frozen=True)
class Principal:
    """The caller: a key (id, role), or, with auth off, its client address with every role but key admin."""

    key_id: str | None
    role: str
    client: str
    collections: tuple[str, ...] = (ALL_COLLECTIONS,)

    def may_use(self, collection: str) -> bool:
        return may_use(self.role, self.collections, collection)

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}" if self.key_id else f"addr:{self.client}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class RateLimits:
    """Moving-window limits per caller (the `limits` library, in-memory): e.g. "60/minute"; "" = none."""

    def __init__(self, **limits_by_kind: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._items = {kind: parse(text) for kind, text in limits_by_kind.items() if text.strip()}

    def check(self, kind: str, caller: str) -> None:
        item = self._items.get(kind)
        if item is None or self._limiter.hit(item, kind, caller):
            return
        reset_at = self._limiter.get_window_stats(item, kind, caller).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise HTTPException(
            429,
            f"over the rate limit of {item} for {kind}s; retry in {retry_after} s",
            {"Retry-After": str(retry_after)},
        )


class Access:
    def __init__(
        self,
        store: KeyStore,
        mode: str,
        host: str,
        limits: RateLimits,
        collection_exists: Callable[[str], bool] | None = None,
    ) -> None:
        self.keys = KeyService(store, collection_exists)
        self.audit = AuditLog(store)
        self.mode = mode
        self.host = host
        self.limits = limits

    def required(self, request: Request) -> bool:
        """Whether this request needs a key: mode on; or auto and (served on a public address, or this
        request came in on one, e.g. `uvicorn --host 0.0.0.0`, or a key exists)."""
        if self.mode != "auto":
            return self.mode == "on"
        local = request.scope.get("server") or ("localhost", 0)
        arrived_publicly = _is_ip(str(local[0])) and not is_loopback(str(local[0]))
        return not is_loopback(self.host) or arrived_publicly or self.keys.any_active()

    def identify(self, request: Request, always: bool) -> Principal:
        client = request.client.host if request.client else "unknown"
        if not always and not self.required(request):
            return Principal(None, "writer", client)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "this server needs an API key: send `Authorization: Bearer KEY`", _UNAUTHORIZED)
        record = self.keys.verify(token.strip())
        if record is None:
            raise HTTPException(401, "unknown or revoked API key", _UNAUTHORIZED)
        return Principal(record.id, record.role, client, record.collections)


def require(
    read: str = "reader",
    write: str = "writer",
    limit: str | None = None,
    always: bool = False,
    scoped: bool = True,
) -> Callable[[Request], Principal]:
    """A dependency: the caller must hold role `read` (GET) or `write` (POST/PUT/PATCH/DELETE); `limit`
    names the rate limit to count against ("ask" or "write"; writes count as "write" when None);
    `always`: a key is needed even when auth is off (key management); `scoped`: the route acts on the
    request's collection (api.deps), which the key must be allowed to use."""

    def dependency(request: Request) -> Principal:
        access: Access = request.app.state.access
        principal = access.identify(request, always)
        writes = request.method in WRITE_METHODS
        needed = write if writes else read
        if principal.key_id is not None and not role_allows(principal.role, needed):
            raise HTTPException(403, f"this needs a {needed} key; this key's role is {principal.role}")
        collection = request_collection(request)
        if scoped and not principal.may_use(collection):
            raise HTTPException(403, f"this key cannot use collection {collection!r}")
        kind = limit or ("write" if writes else None)
        if kind:
            access.limits.check(kind, principal.actor)
        request.state.principal = principal
        return principal

    return dependency


def refusal_to_serve(settings: Settings) -> str | None:
    """Why `spanqa serve` must not start: a public address with auth off and no key (None: it may)."""
    if is_loopback(settings.host) or settings.auth != "auto":  # "off": the operator said so on purpose
        return None
    from index.store import open_key_store

    if KeyService(open_key_store(settings.data_dir, database_url=settings.database_url)).any_active():
        return None
    return (
        f"refusing to serve on {settings.host}, a non-loopback address, with no API key: anyone who can reach the "
        "port could read and delete every document. Create a key first with "
        "`spanqa keys create --name admin --role admin`, then send it as `Authorization: Bearer KEY`; "
        "or set SPANQA_AUTH=off to serve without keys on purpose."
    )
