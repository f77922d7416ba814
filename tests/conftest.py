"""Shared fixtures: real models loaded once per session, a fresh store per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.pg_fixtures import postgres_server, postgres_url  # noqa: F401 (a real PostgreSQL + pgvector)

if TYPE_CHECKING:
    from click.testing import Result
    from fastapi.testclient import TestClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SEED_FILE = REPO / "seeds" / "us-cluster-munitions-ukraine.txt"
SHIPPED_READER = REPO.parent / "shared" / "models" / "spanqa-reader-minilm-squad2"


@pytest.fixture(scope="session")
def base_settings():
    from qa.settings import Settings

    # "testserver": the Host header of Starlette's TestClient (the API answers only to hosts it knows).
    return Settings(_env_file=None, allowed_hosts="testserver")


@pytest.fixture(scope="session")
def torch_settings(base_settings):
    """The default settings on the PyTorch backend (no ONNX export needed)."""
    return base_settings.model_copy(update={"backend": "torch"})


@pytest.fixture(scope="session")
def embedder(torch_settings):
    from qa.wiring import make_embedder

    return make_embedder(torch_settings)


@pytest.fixture(scope="session")
def reader(torch_settings):
    from qa.wiring import make_reader

    return make_reader(torch_settings)


@pytest.fixture
def make_pipeline(base_settings, embedder, reader, tmp_path_factory):
    """Builds pipelines over fresh data directories, sharing the session's models."""
    from tests.fixtures.apps import pipeline_over

    made = []

    def make(data_dir: Path | None = None, **overrides):
        data_dir = data_dir or tmp_path_factory.mktemp("data")
        settings = base_settings.model_copy(update={"data_dir": data_dir, **overrides})
        pipeline = pipeline_over(settings, embedder, reader)
        made.append(pipeline)
        return pipeline

    yield make
    for p in made:
        p.close()


@pytest.fixture
def reader_record_dir(tmp_path, monkeypatch) -> Iterator[Path]:
    """A data directory of its own for the reader record; the shipped reader, on the torch backend (no ONNX export)."""
    from qa.settings import get_settings

    monkeypatch.setenv("SPANQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SPANQA_READER_MODEL", str(SHIPPED_READER))
    monkeypatch.setenv("SPANQA_BACKEND", "torch")
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def spanqa_cli(*args: object) -> Result:
    """Runs the `spanqa` command line in-process with these arguments."""
    from typer.testing import CliRunner

    from cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def seed_text() -> str:
    return SEED_FILE.read_text(encoding="utf-8")


def seeded_client(settings, embedder, reader, data_dir: Path) -> Iterator[TestClient]:
    """The real app (real models) over `data_dir`, holding the seed document as id "seed"."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from qa.pipeline import Pipeline

    settings = settings.model_copy(update={"data_dir": data_dir})
    pipeline = Pipeline(settings, embedder, reader)
    try:
        with TestClient(create_app(settings, pipeline=pipeline)) as client:
            with SEED_FILE.open("rb") as f:
                r = client.post("/documents", files={"file": (SEED_FILE.name, f, "text/plain")}, data={"id": "seed"})
            assert r.status_code == 201, r.text
            yield client
    finally:
        pipeline.close()
