"""Shared fixtures for tests of `qa`: the real reader model and real texts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.reader import Reader
from qa.settings import Settings

# The shared data sits beside the checkout (as in qa.settings).
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEED_DOCUMENT = SHARED / "seeds" / "000_926dce63dff0079b.txt"
SQUAD_CONTEXTS = SHARED / "data" / "squad" / "squad-v2-dev-20-articles-contexts.json"


@pytest.fixture(scope="session")
def reader() -> Reader:
    """The configured reader model (loaded once per test session)."""
    return Reader(Settings().reader_model)


@pytest.fixture(scope="session")
def seed_text() -> str:
    """The sample news article shipped in /work/shared/seeds."""
    return SEED_DOCUMENT.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def seed_paragraphs(seed_text: str) -> list[str]:
    """The sample article's non-empty lines (one paragraph each)."""
    return [line for line in seed_text.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def squad_contexts() -> list[str]:
    """Real SQuAD paragraphs (unlabelled distractor contexts), in file order."""
    data = json.loads(SQUAD_CONTEXTS.read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]
