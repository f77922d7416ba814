"""`spanqa serve`: the HTTP API and chat page."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import console, open_pipeline
from cli.ingest import ingest_with_progress
from qa.settings import get_settings


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    seed_if_empty: Annotated[bool, typer.Option(help="Index the seeds folder when the index is empty")] = False,
) -> None:
    """Serve the HTTP API and chat page."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    pipeline = open_pipeline()
    try:
        if seed_if_empty and pipeline.count_documents() == 0:
            summary = ingest_with_progress(pipeline, [settings.seeds_dir])
            console.print(f"indexed {len(summary.of('added'))} seed documents from {settings.seeds_dir}", markup=False)
        pipeline.warm_up()  # load the models now: the first question should not pay for it
        uvicorn.run(create_app(settings, pipeline=pipeline), host=host or settings.host, port=port or settings.port)
    finally:
        pipeline.close()
