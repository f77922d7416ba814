from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seeded_client


@pytest.fixture(scope="module")
def client(base_settings, embedder, reader, tmp_path_factory) -> Iterator[TestClient]:
    """The real app, real models, a fresh data directory holding the seed document."""
    settings = base_settings.model_copy(update={"max_upload_bytes": 200_000})
    yield from seeded_client(settings, embedder, reader, tmp_path_factory.mktemp("api-data"))
