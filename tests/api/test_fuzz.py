"""An API fuzzer: schemathesis generates requests from the app's own OpenAPI schema (valid and
invalid ones) and fails on any 5xx, any status, content type or body the schema does not declare, and
any request slower than a generous budget (a hang). Real app, real models, a small corpus; a bounded,
derandomized number of examples per operation, so a run is repeatable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from qa.settings import Settings
from tests.conftest import seeded_client

EXAMPLES_PER_OPERATION = 50
SECONDS_PER_REQUEST = 30.0  # a hang detector, far above any request on a loaded 2-core machine

# The schema is read when the module loads, from an app that is built but never started; the
# requests go to the app of `fuzzed_app` (same code and settings, a pipeline with real models).
_SETTINGS = {"allowed_hosts": "testserver", "max_upload_bytes": 200_000}
schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None, **_SETTINGS)).openapi())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], deterministic=True, allow_x00=True
)


@pytest.fixture(scope="module")
def fuzzed_app(base_settings, embedder, reader, tmp_path_factory) -> Iterator[FastAPI]:
    settings = base_settings.model_copy(update=_SETTINGS)
    for client in seeded_client(settings, embedder, reader, tmp_path_factory.mktemp("fuzz-data")):
        yield client.app


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_every_generated_request_as_its_schema_says(case, fuzzed_app):
    response = case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        app=fuzzed_app,
        base_url="http://testserver",
    )
    assert response.elapsed < SECONDS_PER_REQUEST, f"{case.method} {case.path}: {response.elapsed:.1f} s"
