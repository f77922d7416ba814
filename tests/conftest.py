"""Shared fixtures: real models loaded once per session, a fresh store per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.pg_fixtures import postgres_server, postgres_url  # noqa: F401 (a real PostgreSQL + pgvector)

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SEED_FILE = REPO / "seeds" / "us-cluster-munitions-ukraine.txt"


@pytest.fixture(scope="session")
def base_settings():
    from qa.settings import Settings

    # "testserver": the Host header of Starlette's TestClient (the API answers only to hosts it knows).
    return Settings(_env_file=None, allowed_hosts="testserver")


@pytest.fixture(scope="session")
def embedder(base_settings):
    from index.embedder import Embedder

    return Embedder(base_settings.embedding_model)


@pytest.fixture(scope="session")
def reader(base_settings):
    from qa.reader import Reader

    s = base_settings
    return Reader(
        s.reader_model,
        max_length=s.reader_max_length,
        stride=s.reader_stride,
        batch_size=s.reader_batch_size,
        max_answer_tokens=s.max_answer_tokens,
    )


@pytest.fixture
def make_pipeline(base_settings, embedder, reader, tmp_path_factory):
    """Builds pipelines over fresh data directories, sharing the session's models."""
    from index.store import FaissSqliteStore
    from qa.pipeline import Pipeline

    made = []

    def make(data_dir: Path | None = None, **overrides):
        data_dir = data_dir or tmp_path_factory.mktemp("data")
        settings = base_settings.model_copy(update={"data_dir": data_dir, **overrides})
        store = FaissSqliteStore(
            data_dir,
            dimension=embedder.dimension,
            model_name=embedder.identity,
            index_type=settings.index_type,
        )
        pipeline = Pipeline(settings, embedder, reader, store)
        made.append(pipeline)
        return pipeline

    yield make
    for p in made:
        p.close()


@pytest.fixture
def seed_text() -> str:
    return SEED_FILE.read_text(encoding="utf-8")


def seeded_client(settings, embedder, reader, data_dir: Path) -> Iterator[TestClient]:
    """The real app (real models) over `data_dir`, holding the seed document as id "seed"."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from index.store import FaissSqliteStore
    from qa.pipeline import Pipeline

    settings = settings.model_copy(update={"data_dir": data_dir})
    store = FaissSqliteStore(data_dir, dimension=embedder.dimension, model_name=embedder.identity)
    pipeline = Pipeline(settings, embedder, reader, store)
    try:
        with TestClient(create_app(settings, pipeline=pipeline)) as client:
            with SEED_FILE.open("rb") as f:
                r = client.post("/documents", files={"file": (SEED_FILE.name, f, "text/plain")}, data={"id": "seed"})
            assert r.status_code == 201, r.text
            yield client
    finally:
        pipeline.close()
