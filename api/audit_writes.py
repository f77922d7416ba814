"""Records every successful write (POST/PUT/PATCH/DELETE but /ask) in the audit log: who, what, when.

The caller is the `Principal` the auth dependency left in the request's state, the collection the
one `api.deps` (or the collections routes) left there; key changes are recorded by their own routes
(with the key id), so `/keys` is left out here.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import WRITE_METHODS, Access
from api.route_names import route_template
from qa.collections import DEFAULT_COLLECTION

logger = logging.getLogger("spanqa.audit")
UNAUDITED = ("/ask", "/collections/{collection}/ask", "/keys", "/keys/{key_id}")
_BODY_KEPT = 64 * 1024  # a created resource's JSON (its id) is read from at most this much of the response


class AuditWrites:
    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        status, body = 0, bytearray()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status in (201, 202) and len(body) < _BODY_KEPT:
                body.extend(message.get("body", b"")[: _BODY_KEPT - len(body)])
            await send(message)

        await self.app(scope, receive, recording_send)
        state = scope.get("state", {})
        principal, route = state.get("principal"), route_template(scope) or scope["path"]
        if principal is not None and 200 <= status < 300 and route not in UNAUDITED:
            action = f"{scope['method']} {route}"
            collection = state.get("collection", DEFAULT_COLLECTION)
            try:
                self.access.audit.record(principal.actor, action, _target(scope["path"], bytes(body)), collection)
            except Exception:  # the write happened; a failed audit row is logged, never turned into an error
                logger.exception("could not record %s by %s in the audit log", action, principal.actor)


def _target(path: str, created: bytes) -> str:
    """The path, and the id of what a 201 (or 202: a job) response created (`/documents -> owls`), when it says."""
    try:
        created_id = json.loads(created).get("id") if created else None
    except (ValueError, AttributeError):
        created_id = None
    return f"{path} -> {created_id}" if isinstance(created_id, str) else path
