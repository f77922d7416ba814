"""Records every successful write (POST/PUT/PATCH/DELETE but /ask) in the audit log: who, what, when.

The caller is the `Principal` the auth dependency left in the request's state; key changes are
recorded by their own routes (with the key id), so `/keys` is left out here.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import WRITE_METHODS, Access

logger = logging.getLogger("spanqa.audit")
UNAUDITED = ("/ask", "/keys")


class AuditWrites:
    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS or scope["path"].startswith(UNAUDITED):
            await self.app(scope, receive, send)
            return
        status = 0

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, recording_send)
        principal = scope.get("state", {}).get("principal")
        if principal is not None and 200 <= status < 300:
            action = f"{scope['method']} {getattr(scope.get('route'), 'path', scope['path'])}"
            try:
                self.access.audit.record(principal.actor, action, scope["path"])
            except Exception:  # the write happened; a failed audit row is logged, never turned into an error
                logger.exception("could not record %s by %s in the audit log", action, principal.actor)
