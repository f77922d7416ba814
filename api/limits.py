"""ASGI middleware that bounds what one request can take: its body (counted as it streams, chunked or
not), its time (/ask), and the number of uploads ingested at once (so they cannot starve /ask and
/health of worker threads). Each answers with JSON `{"detail": ...}` like every other error."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import anyio
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("spanqa")


_RETRY_LATER = {"Retry-After": "5"}


async def send_error(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(scope, receive, send)


class BodySizeLimit:
    """413 once a request body is over `limit_of(scope)` bytes: at once when Content-Length says so,
    else as soon as the bytes received so far pass it (whatever the app does with the error)."""

    def __init__(self, app: ASGIApp, limit_of: Callable[[Scope], int]) -> None:
        self.app = app
        self.limit_of = limit_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await send_error(
                scope, receive, send, 413, f"the request body is {int(declared):,} bytes, over the limit of {limit:,}"
            )
            return
        received = 0
        over = False
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if over:  # whatever the app answers to the cut-off body (400, 422 ...), the client gets 413
                if not answered and message["type"] == "http.response.start":
                    answered = True
                    await send_error(
                        scope, receive, send, 413, f"the request body is over the limit of {limit:,} bytes"
                    )
                return
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not answered:
            await send_error(scope, receive, send, 413, f"the request body is over the limit of {limit:,} bytes")


class _BodyTooLarge(Exception):
    """Raised into the app by `receive` when the body passes the limit."""


class RequestTimeout:
    """504 when a request to one of `paths` has not started its response after `seconds`.

    The handler runs in a task of its own: a synchronous route holds a worker thread that cannot be
    cancelled (`anyio.fail_after` would only fire once the thread is done), so on time-out the task is
    left to finish in the background, its response discarded, and the client is answered at once."""

    def __init__(self, app: ASGIApp, paths: set[str], seconds: float) -> None:
        self.app = app
        self.paths = paths
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        started = abandoned = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if abandoned:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.seconds)
        except asyncio.CancelledError:  # the server is stopping or the client left: so does the handler
            task.cancel()
            task.add_done_callback(_log_failure)
            raise
        if task in done or started:
            await task
            return
        abandoned = True
        task.add_done_callback(_log_failure)
        await send_error(scope, receive, send, 504, f"the request took longer than {self.seconds:g} s", _RETRY_LATER)


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("a request that timed out failed afterwards: %r", task.exception())


class ConcurrencyLimit:
    """At most `limit` requests that `applies(scope)` in flight; one more waits up to `wait_s` for a
    slot, then gets 503 with Retry-After. A counter, not a semaphore: it is bound to no event loop."""

    def __init__(self, app: ASGIApp, applies: Callable[[Scope], bool], limit: int, wait_s: float) -> None:
        self.app = app
        self.applies = applies
        self.limit = limit
        self.wait_s = wait_s
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.wait_s
        while self.active >= self.limit:
            if time.monotonic() >= deadline:
                await send_error(
                    scope,
                    receive,
                    send,
                    503,
                    f"{self.limit} uploads are being ingested; try again shortly",
                    _RETRY_LATER,
                )
                return
            await anyio.sleep(0.05)
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
