"""`spanqa serve`: the HTTP API and chat page, in this process or in `--workers N` processes.

One worker serves the pipeline opened here. Several (`--workers N`, uvicorn's process manager) each
build their own app from the settings (`worker_app`, an import string uvicorn calls in every worker):
they need a PostgreSQL database (`SPANQA_DATABASE_URL`), since the SQLite + FAISS index in the data
directory has one writing process at a time (its writer lock).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import console, error, open_pipeline
from cli.ingest import ingest_with_progress
from qa.collections import DEFAULT_COLLECTION
from qa.settings import Settings, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

WORKER_APP = "cli.serve:worker_app"


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=256, help="Server processes (more than 1 needs SPANQA_DATABASE_URL)")
    ] = 1,
    seed_if_empty: Annotated[bool, typer.Option(help="Index the seeds folder when the index is empty")] = False,
) -> None:
    """Serve the HTTP API and chat page."""
    import uvicorn

    from api.app import create_app
    from api.auth import refusal_to_serve
    from api.request_log import configure_logging

    settings = get_settings()
    if settings.collection != DEFAULT_COLLECTION:  # the server's own pipeline must be `default`'s
        error(
            f"spanqa serve serves every collection (under /collections/NAME), so it takes no collection: "
            f"drop --collection {settings.collection} / SPANQA_COLLECTION"
        )
        raise typer.Exit(2)
    settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
    refusal = refusal_to_serve(settings) or refusal_of_workers(settings, workers)
    if refusal:
        error(refusal)
        raise typer.Exit(2)
    configure_logging(settings.log_format)
    pipeline = open_pipeline()
    try:
        if seed_if_empty and pipeline.count_documents() == 0:
            summary = ingest_with_progress(pipeline, [settings.seeds_dir])
            console.print(f"indexed {len(summary.of('added'))} seed documents from {settings.seeds_dir}", markup=False)
        if workers == 1:
            pipeline.warm_up()  # load the models now: the first question should not pay for it
            app = create_app(settings, pipeline=pipeline)
            # log_config=None: uvicorn's loggers go through ours (request ids, SPANQA_LOG_FORMAT); one line
            # per request comes from api.request_log, so uvicorn's access log is off.
            uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
            return
    finally:
        pipeline.close()
    # The workers read the settings from the environment (they are new processes): pass the options on.
    os.environ.update(SPANQA_HOST=settings.host, SPANQA_PORT=str(settings.port))
    uvicorn.run(
        WORKER_APP,
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


def refusal_of_workers(settings: Settings, workers: int) -> str | None:
    """Why `--workers` cannot be that many on this index (None: it can)."""
    if workers == 1 or settings.database_url:
        return None
    return (
        f"--workers {workers} needs a PostgreSQL database (SPANQA_DATABASE_URL): the SQLite + FAISS index in"
        f" {settings.data_dir} is written by one process at a time (its writer lock). Serve with one worker"
        " (it answers concurrent questions with its threads and micro-batching), or move the index to"
        " PostgreSQL with `spanqa index migrate --to postgresql://...`."
    )


def worker_app() -> FastAPI:
    """The app of one `--workers` process: its own pipeline, built from the settings at startup."""
    from api.app import create_app
    from api.request_log import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format)
    return create_app(settings)
