"""The FastAPI app: `create_app()` builds it; the lifespan loads the models once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api import metrics
from api.audit_writes import AuditWrites
from api.auth import AUTH_RESPONSES, Access, Principal, RateLimits, require
from api.deps import collection_scope
from api.errors import install_error_handlers
from api.job_runners import JobRunners
from api.request_log import RequestIds, install_request_id_on_records
from api.routes import ask, collections, documents, feedback, health, jobs, keys
from api.schemas import ErrorOut
from api.security import install_protections
from errors import SpanqaError
from index.store import KeyStore, open_key_store
from qa.collections import CollectionRegistry, collection_exists
from qa.pipeline import Pipeline
from qa.settings import Settings, get_settings

logger = logging.getLogger("spanqa")
STATIC_DIR = Path(__file__).parent / "static"


def create_app(
    settings: Settings | None = None, pipeline: Pipeline | None = None, key_store: KeyStore | None = None
) -> FastAPI:
    """Builds the app. With `pipeline`, uses it (and leaves closing it to the caller); API keys and the
    audit log live in `key_store`, by default the one beside the index in the data directory."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = pipeline is None
        try:
            default = pipeline or Pipeline.from_settings(settings)
        except SpanqaError as exc:  # a wrong model for this index, a locked data directory ...
            logger.error("spanqa cannot start: %s", exc)
            raise
        runners = JobRunners()
        registry = CollectionRegistry(default, access.keys.store, on_open=runners.start, on_close=runners.stop)
        app.state.pipeline, app.state.collections, app.state.job_runners = default, registry, runners
        try:
            if owned:
                default.warm_up()  # the first question should not pay for lazy initialisation
            app.state.job_runner = runners.start(default)
            registry.open_all()  # every collection's unfinished jobs resume
            _watch_store(app, registry)
            yield
        finally:
            runners.stop_all()
            registry.close()
            if owned:
                default.close()

    app = FastAPI(
        title="spanqa",
        summary="Extractive question answering over your documents, with exact citations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    settings = settings or (pipeline.settings if pipeline else get_settings())
    stored_in = pipeline.settings if pipeline else settings  # where the collections live
    install_error_handlers(app)
    install_request_id_on_records()
    access = Access(
        key_store or open_key_store(settings.data_dir, database_url=settings.database_url),
        mode=settings.auth,
        host=settings.host,
        limits=RateLimits(ask=settings.rate_limit_ask, write=settings.rate_limit_write),
        collection_exists=partial(collection_exists, stored_in),
    )
    app.state.access = access
    app.state.metrics = metrics.Metrics()
    app.add_middleware(AuditWrites, access=access)
    install_protections(app, settings)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[o.strip() for o in settings.allowed_origins.split(",") if o.strip()],
        allow_headers=["*"],
        allow_methods=["*"],
        expose_headers=["Retry-After", "X-Request-ID"],
    )
    app.add_middleware(metrics.RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(RequestIds)
    _include_collection_routers(app)
    app.include_router(collections.router, responses=AUTH_RESPONSES)
    app.include_router(keys.router, responses=AUTH_RESPONSES)
    metrics_auth = [] if settings.metrics_public else [Depends(require(scoped=False))]
    app.include_router(
        metrics.router, dependencies=metrics_auth, responses={} if settings.metrics_public else AUTH_RESPONSES
    )
    app.include_router(health.router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

        @app.get("/", include_in_schema=False)
        def chat_page() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html")

    return app


def _include_collection_routers(app: FastAPI) -> None:
    """The routes that act on a collection: un-prefixed on `default`, and again under
    `/collections/{collection}` (whose name is taken before the key is checked against it)."""
    scoped: list[tuple[APIRouter, Callable[[Request], Principal]]] = [
        (ask.router, require(write="reader", limit="ask")),
        (documents.router, require()),
        (jobs.router, require()),
        (feedback.router, require()),
    ]
    for router, auth in scoped:
        app.include_router(router, dependencies=[Depends(auth)], responses=AUTH_RESPONSES)
    for router, auth in scoped:
        app.include_router(
            router,
            prefix="/collections/{collection}",
            dependencies=[Depends(collection_scope), Depends(auth)],
            responses={**AUTH_RESPONSES, 404: {"model": ErrorOut}},
        )


def _watch_store(app: FastAPI, registry: CollectionRegistry) -> None:
    """Documents, chunks and jobs per open collection, read at each scrape."""

    def counts() -> dict[str, dict[str, int]]:
        found = {}
        for name, pipeline in registry.open_pipelines().items():
            try:
                found[name] = {
                    "documents": pipeline.count_documents(),
                    "chunks": pipeline.count_chunks(),
                    "jobs": pipeline.jobs.count_jobs(),
                }
            except Exception:  # noqa: BLE001 - closed (deleted) meanwhile: left out of this scrape
                continue
        return found

    app.state.metrics.watch_store(counts)
