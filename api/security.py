"""What protects the HTTP API from hostile clients and web pages, installed by one call:
`install_protections(app, settings)`. README, "Security", states the rules and limits.

- Host check (Starlette's TrustedHostMiddleware): only localhost names, `host` and SPANQA_ALLOWED_HOSTS,
  so a DNS-rebinding page cannot reach the API through its own domain.
- Writes (POST, PUT, PATCH, DELETE) from another origin are refused (403), and a body must be JSON or
  multipart (415): a cross-site `text/plain` form post is neither a preflighted nor an accepted request.
- Body size limits counted as bytes stream in (api.limits), a time limit on /ask, a cap on ingests at once.
- Security headers on every response: a Content-Security-Policy the chat page works with, no framing,
  no MIME sniffing, no referrer.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import BodySizeLimit, ConcurrencyLimit, RequestTimeout, send_error
from api.schemas import ErrorOut
from qa.settings import Settings

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_TYPES = ("application/json", "multipart/form-data")
UPLOAD_PATH = "/documents"
JOBS_PATH = "/jobs"  # POST: many files at once, its own body limit (max_job_bytes)
ASK_PATH = "/ask"
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and the small form fields beside the file
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_API_DOCS = ("/docs", "/redoc")  # FastAPI's pages load Swagger UI / ReDoc from a CDN with inline scripts


def install_protections(app: FastAPI, settings: Settings) -> None:
    """Adds the middleware (the last added runs first) and declares the errors they answer in the schema."""

    def is_upload(scope: Scope) -> bool:  # POST /documents or POST /jobs: both count as ingests at once
        return scope["method"] == "POST" and scope["path"].rstrip("/") in (UPLOAD_PATH, JOBS_PATH)

    def body_limit(scope: Scope) -> int:
        if not is_upload(scope):
            return settings.max_json_bytes
        limit = settings.max_job_bytes if scope["path"].rstrip("/") == JOBS_PATH else settings.max_upload_bytes
        return limit + MULTIPART_OVERHEAD

    app.add_middleware(
        ConcurrencyLimit, applies=is_upload, limit=settings.max_concurrent_ingests, wait_s=settings.ingest_wait_s
    )
    app.add_middleware(BodySizeLimit, limit_of=body_limit)
    app.add_middleware(RequestTimeout, paths={ASK_PATH}, seconds=settings.request_timeout_s)
    app.add_middleware(WriteGuard, allowed_origins=_split(settings.allowed_origins))
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings))
    _declare_errors(app)


def allowed_hosts(settings: Settings) -> list[str]:
    """Localhost names, the host the server binds to (unless a wildcard address) and SPANQA_ALLOWED_HOSTS."""
    hosts = [*LOCAL_HOSTS, *_split(settings.allowed_hosts)]
    if settings.host not in ("0.0.0.0", "::", ""):
        hosts.append(settings.host)
    return list(dict.fromkeys(hosts))


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class WriteGuard:
    """403 for a write whose Origin (or Sec-Fetch-Site) says another site sent it; 415 for a write
    with a body that is neither JSON nor multipart (a cross-site form can post text/plain unasked)."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed_origins = {origin.rstrip("/") for origin in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
        if headers.get("sec-fetch-site") == "cross-site" or (
            origin is not None and origin.rstrip("/") != own and origin.rstrip("/") not in self.allowed_origins
        ):
            await send_error(
                scope, receive, send, 403, f"writes from another origin ({origin or 'cross-site'}) are refused"
            )
            return
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        if (has_body or scope["method"] != "DELETE") and content_type not in BODY_TYPES:
            await send_error(
                scope,
                receive,
                send,
                415,
                f"the request body must be application/json or multipart/form-data, not {content_type or 'missing'!r}",
            )
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds the security headers (and the CSP, except on the API docs pages) to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_csp = not scope["path"].startswith(_API_DOCS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if with_csp:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _declare_errors(app: FastAPI) -> None:
    """Declares, in the OpenAPI schema, the statuses these protections answer and the JSON
    `{"detail": ...}` body every error has (422 included: api.errors writes it, not FastAPI's default)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("schemas", {})["ErrorOut"] = ErrorOut.model_json_schema()
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    responses = operation.setdefault("responses", {})
                    for status in _statuses(path, method.upper(), "422" in responses):
                        responses[str(status)] = {
                            "description": HTTPStatus(status).phrase,
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
                        }
            app.openapi_schema = schema
        assert app.openapi_schema is not None  # FastAPI's builder caches the schema it returns
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _statuses(path: str, method: str, validates: bool) -> list[int]:
    statuses = [413]
    if validates:
        statuses.append(422)
    if method in WRITE_METHODS:
        statuses += [400, 403, 415]  # 400: a body that does not parse, a multipart body over the part counts
    if path == ASK_PATH:
        statuses.append(504)
    if path in (UPLOAD_PATH, JOBS_PATH) and method == "POST":
        statuses.append(503)
    return statuses
