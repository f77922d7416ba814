"""The composition root: models load lazily and once; parts can be injected; a failed build closes its store."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.embedder import Embedder
from qa.reader import Reader
from qa.wiring import build, make_reader
from tests.fakes import HashBagEmbedder, OverlapSpanModel, fake_reader, fake_store, fast_settings


def test_constructing_models_loads_nothing() -> None:
    # Neither name exists: only loading would notice.
    reader = Reader("/nonexistent/reader", backend="onnx")
    embedder = Embedder("/nonexistent/embedder", backend="onnx")
    assert reader.name == "/nonexistent/reader" and embedder.identity == "/nonexistent/embedder"
    with pytest.raises(Exception):  # noqa: B017  (whatever the loader raises for a missing model)
        reader.warm_up()
    with pytest.raises(Exception):  # noqa: B017  (whatever the loader raises for a missing model)
        embedder.warm_up()


def test_warm_up_runs_the_injected_span_model_once(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path)
    model = OverlapSpanModel(sep_token_id=102)
    reader = make_reader(settings, span_model=model)
    reader.warm_up()
    reader.warm_up()
    assert reader.model is model and model.calls == 1


def test_build_uses_the_injected_parts(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data")
    embedder = HashBagEmbedder(settings.embedding_model)
    store = fake_store(settings, embedder)
    parts = build(settings, embedder=embedder, reader=fake_reader(settings), store=store)
    try:
        assert parts.embedder is embedder and parts.store is store and parts.ingest.store is store
        assert parts.asking.retriever is parts.retriever and parts.batcher is None
    finally:
        parts.close()


def test_a_failed_build_closes_the_store_it_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import qa.wiring

    settings = fast_settings(tmp_path / "data")
    embedder = HashBagEmbedder(settings.embedding_model)
    store = fake_store(settings, embedder, memory=False)
    closed: list[bool] = []
    monkeypatch.setattr(store, "close", lambda: closed.append(True))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no retriever")

    monkeypatch.setattr(qa.wiring, "Retriever", broken)
    with pytest.raises(RuntimeError):
        build(settings, embedder=embedder, reader=fake_reader(settings), store=store)
    assert closed == [True]


def test_the_pipeline_exposes_no_parts(tmp_path: Path) -> None:
    """Callers use the façade's methods; the parts stay behind it."""
    from tests.fakes import fake_pipeline

    pipeline = fake_pipeline(tmp_path / "data")
    try:
        public = {name for name in vars(pipeline) if not name.startswith("_")}
        assert public == {"settings"}
        for part in ("store", "reader", "embedder", "bm25", "retriever", "reranker", "read_batcher"):
            assert not hasattr(pipeline, part)
    finally:
        pipeline.close()
