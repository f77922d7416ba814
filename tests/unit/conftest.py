"""The fast layer: real code over small fake models (tests/fakes.py); no model weights are loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.pipeline import Pipeline
from tests.fakes import fake_pipeline


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    """A real Pipeline over the fake embedder and span model and a fresh store."""
    made = fake_pipeline(tmp_path / "data")
    yield made
    made.close()
