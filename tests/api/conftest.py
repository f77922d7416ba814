from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import SEED_FILE


@pytest.fixture(scope="module")
def client(base_settings, embedder, reader, tmp_path_factory) -> Iterator[TestClient]:
    """The real app, real models, a fresh data directory holding the seed document."""
    from api.app import create_app
    from index.store import FaissSqliteStore
    from qa.pipeline import Pipeline

    data_dir = tmp_path_factory.mktemp("api-data")
    settings = base_settings.model_copy(update={"data_dir": data_dir, "max_upload_bytes": 200_000})
    store = FaissSqliteStore(data_dir, dimension=embedder.dimension, model_name=embedder.identity)
    pipeline = Pipeline(settings, embedder, reader, store)
    app = create_app(settings, pipeline=pipeline)
    with TestClient(app) as c:
        with SEED_FILE.open("rb") as f:
            r = c.post("/documents", files={"file": (SEED_FILE.name, f, "text/plain")}, data={"id": "seed"})
        assert r.status_code == 201, r.text
        yield c
    pipeline.close()
