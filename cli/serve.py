"""`spanqa serve`: the HTTP API and chat page."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import console, error, open_pipeline
from cli.ingest import ingest_with_progress
from qa.collections import DEFAULT_COLLECTION
from qa.settings import get_settings


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
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
    refusal = refusal_to_serve(settings)
    if refusal:
        error(refusal)
        raise typer.Exit(2)
    configure_logging(settings.log_format)
    pipeline = open_pipeline()
    try:
        if seed_if_empty and pipeline.count_documents() == 0:
            summary = ingest_with_progress(pipeline, [settings.seeds_dir])
            console.print(f"indexed {len(summary.of('added'))} seed documents from {settings.seeds_dir}", markup=False)
        pipeline.warm_up()  # load the models now: the first question should not pay for it
        app = create_app(settings, pipeline=pipeline)
        # log_config=None: uvicorn's loggers go through ours (request ids, SPANQA_LOG_FORMAT); one line
        # per request comes from api.request_log, so uvicorn's access log is off.
        uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    finally:
        pipeline.close()
