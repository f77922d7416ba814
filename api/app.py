"""The FastAPI app: `create_app()` builds it; the lifespan loads the models once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api import metrics
from api.audit_writes import AuditWrites
from api.auth import AUTH_RESPONSES, Access, RateLimits, require
from api.errors import install_error_handlers
from api.request_log import RequestIds, install_request_id_on_records
from api.routes import ask, documents, feedback, health, jobs, keys
from api.security import install_protections
from errors import SpanqaError
from index.store import KeyStore, open_key_store
from qa.jobs.legacy_folders import import_job_folders
from qa.jobs.runner import JobRunner
from qa.pipeline import Pipeline
from qa.settings import Settings, get_settings

logger = logging.getLogger("spanqa")
STATIC_DIR = Path(__file__).parent / "static"


@contextmanager
def _job_runner(app: FastAPI, pipeline: Pipeline) -> Iterator[None]:
    """The background thread ingesting jobs (qa.jobs.runner), from startup to shutdown."""
    import_job_folders(pipeline.jobs, pipeline.settings.data_dir)  # an older version's job files, once
    app.state.job_runner = runner = JobRunner(pipeline, pipeline.settings.job_batch_files)
    runner.start()
    try:
        yield
    finally:
        runner.stop()


def create_app(
    settings: Settings | None = None, pipeline: Pipeline | None = None, key_store: KeyStore | None = None
) -> FastAPI:
    """Builds the app. With `pipeline`, uses it (and leaves closing it to the caller); API keys and the
    audit log live in `key_store`, by default the one beside the index in the data directory."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if pipeline is not None:
            app.state.pipeline = pipeline
            _watch_store(app)
            with _job_runner(app, pipeline):
                yield
            return
        try:
            app.state.pipeline = Pipeline.from_settings(settings or get_settings())
        except SpanqaError as exc:  # a wrong model for this index, a locked data directory ...
            logger.error("spanqa cannot start: %s", exc)
            raise
        try:
            app.state.pipeline.warm_up()  # the first question should not pay for lazy initialisation
            _watch_store(app)
            with _job_runner(app, app.state.pipeline):
                yield
        finally:
            app.state.pipeline.close()

    app = FastAPI(
        title="spanqa",
        summary="Extractive question answering over your documents, with exact citations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    settings = settings or (pipeline.settings if pipeline else get_settings())
    install_error_handlers(app)
    install_request_id_on_records()
    access = Access(
        key_store or open_key_store(settings.data_dir, database_url=settings.database_url),
        mode=settings.auth,
        host=settings.host,
        limits=RateLimits(ask=settings.rate_limit_ask, write=settings.rate_limit_write),
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
    app.include_router(
        ask.router, dependencies=[Depends(require(write="reader", limit="ask"))], responses=AUTH_RESPONSES
    )
    app.include_router(documents.router, dependencies=[Depends(require())], responses=AUTH_RESPONSES)
    app.include_router(keys.router, responses=AUTH_RESPONSES)
    metrics_auth = [] if settings.metrics_public else [Depends(require())]
    app.include_router(
        metrics.router, dependencies=metrics_auth, responses={} if settings.metrics_public else AUTH_RESPONSES
    )
    app.include_router(health.router)
    app.include_router(jobs.router, dependencies=[Depends(require())], responses=AUTH_RESPONSES)
    app.include_router(feedback.router, dependencies=[Depends(require())], responses=AUTH_RESPONSES)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

        @app.get("/", include_in_schema=False)
        def chat_page() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html")

    return app


def _watch_store(app: FastAPI) -> None:
    pipeline: Pipeline = app.state.pipeline

    def counts() -> dict[str, int]:
        return {
            "documents": pipeline.count_documents(),
            "chunks": pipeline.count_chunks(),
            "jobs": pipeline.jobs.count_jobs(),
        }

    app.state.metrics.watch_store(counts)
