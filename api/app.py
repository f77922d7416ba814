"""The FastAPI app: `create_app()` builds it; the lifespan loads the models once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.errors import install_error_handlers
from api.routes import ask, documents, feedback, health, jobs
from api.security import install_protections
from errors import SpanqaError
from qa.jobs.runner import JobRunner
from qa.jobs.submit import jobs_dir
from qa.pipeline import Pipeline
from qa.settings import Settings, get_settings

logger = logging.getLogger("spanqa")
STATIC_DIR = Path(__file__).parent / "static"


@contextmanager
def _job_runner(app: FastAPI, pipeline: Pipeline) -> Iterator[None]:
    """The background thread ingesting jobs (qa.jobs.runner), from startup to shutdown."""
    app.state.job_runner = runner = JobRunner(pipeline, jobs_dir(pipeline.settings), pipeline.settings.job_batch_files)
    runner.start()
    try:
        yield
    finally:
        runner.stop()


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """Builds the app. With `pipeline`, uses it (and leaves closing it to the caller)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if pipeline is not None:
            app.state.pipeline = pipeline
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
    install_error_handlers(app)
    install_protections(app, settings or (pipeline.settings if pipeline else get_settings()))
    app.include_router(ask.router)
    app.include_router(documents.router)
    app.include_router(health.router)
    app.include_router(jobs.router)
    app.include_router(feedback.router)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

        @app.get("/", include_in_schema=False)
        def chat_page() -> FileResponse:
            return FileResponse(STATIC_DIR / "index.html")

    return app
