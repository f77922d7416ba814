"""The ONNX Runtime backend against PyTorch, with the real models: same answers, cached exports."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from index.embedder import Embedder
from index.onnx_export import cache_key
from qa.eval.metrics import normalize_answer
from qa.pipeline import NewDocument, Pipeline
from qa.reader import OnnxSpanModel, Reader
from qa.reader_export import exported_reader_model
from qa.settings import Settings
from qa.windows import encode_windows
from qa.wiring import make_embedder, make_reader
from tests.api.test_ask import SEED_QUESTIONS
from tests.conftest import SEED_FILE


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(_env_file=None)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """One export cache for the module: each model is exported once, then reused."""
    return tmp_path_factory.mktemp("models-cache")


@pytest.fixture(scope="module")
def torch_reader(settings) -> Reader:
    return Reader(settings.reader_model)


@pytest.fixture(scope="module")
def onnx_readers(settings, cache_dir) -> dict[str, Reader]:
    return {
        precision: Reader(settings.reader_model, backend="onnx", onnx_precision=precision, cache_dir=cache_dir)
        for precision in ("fp32", "int8")
    }


@pytest.fixture(scope="module")
def seed_paragraphs() -> list[str]:
    return [line for line in SEED_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_fp32_export_gives_pytorchs_logits(torch_reader, onnx_readers, seed_paragraphs):
    windows = encode_windows(
        torch_reader.tokenizer, [SEED_QUESTIONS[0][0]] * len(seed_paragraphs), seed_paragraphs, 256, 96
    )
    inputs = {
        "input_ids": windows.input_ids.astype(np.int64),
        "attention_mask": windows.attention_mask.astype(np.int64),
        "token_type_ids": windows.token_type_ids.astype(np.int64),
    }
    mask = windows.attention_mask.astype(bool)
    want_start, want_end = torch_reader.model(inputs)
    got_start, got_end = onnx_readers["fp32"].model(inputs)
    assert np.abs(got_start - want_start)[mask].max() < 1e-3
    assert np.abs(got_end - want_end)[mask].max() < 1e-3


@pytest.mark.parametrize("question,expected", SEED_QUESTIONS)
def test_backends_give_the_same_span_on_seed_questions(question, expected, torch_reader, onnx_readers, seed_paragraphs):
    # The reader on every paragraph of the article (it does not always find `expected` there:
    # "Washington" loses to "Joe Biden" in both backends; retrieval narrows that down in /ask).
    want = torch_reader.read(question, seed_paragraphs, n_best=3).spans[0]
    fp32 = onnx_readers["fp32"].read(question, seed_paragraphs, n_best=3).spans[0]
    assert (fp32.context_index, fp32.start, fp32.end) == (want.context_index, want.start, want.end)
    assert fp32.score == pytest.approx(want.score, abs=1e-3)
    # int8 moves logits by a few tenths: an answer from the same place, overlapping; on one seed
    # question (v2 reader) its span runs on past the end ("a sequence of events that led to ...").
    int8 = onnx_readers["int8"].read(question, seed_paragraphs, n_best=3).spans[0]
    assert int8.context_index == want.context_index
    assert int8.start < want.end and want.start < int8.end
    assert normalize_answer(want.text) in normalize_answer(int8.text)
    assert int8.score == pytest.approx(want.score, abs=1.0)


def test_export_is_cached_and_reused(settings, cache_dir, onnx_readers):
    first = onnx_readers["int8"].model.exported
    again = exported_reader_model(settings.reader_model, cache_dir, precision="int8")
    assert again.exported is False
    assert again.path == first.path and again.path.is_file()
    assert again.path.stat().st_mtime_ns == first.path.stat().st_mtime_ns  # not written again
    # A reader built later loads the cached file instead of exporting.
    later = Reader(settings.reader_model, backend="onnx", onnx_precision="int8", cache_dir=cache_dir)
    assert later.model.exported.exported is False
    # The export was atomic: only finished entries (and their lock files), no temporary folders.
    leftovers = [p.name for p in cache_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    assert {p.name for p in cache_dir.iterdir() if p.is_dir()} >= {first.path.parent.name}


def test_cache_key_follows_config_and_weights(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"hidden_size": 8}')
    weights = model / "model.safetensors"
    weights.write_bytes(b"weights")
    key = cache_key(model, "question-answering", "int8")
    assert cache_key(model, "question-answering", "int8") == key
    assert cache_key(model, "question-answering", "fp32") != key
    assert cache_key(model, "sentence-embedding", "int8") != key
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    touched = cache_key(model, "question-answering", "int8")
    assert touched != key
    (model / "config.json").write_text('{"hidden_size": 16}')
    assert cache_key(model, "question-answering", "int8") not in {key, touched}


def test_onnx_embedder_matches_sentence_transformers(settings, cache_dir, seed_paragraphs):
    torch_embedder = Embedder(settings.embedding_model)
    texts = seed_paragraphs + [q for q, _ in SEED_QUESTIONS]
    want = torch_embedder.encode(texts)
    fp32 = Embedder(settings.embedding_model, backend="onnx", onnx_precision="fp32", cache_dir=cache_dir)
    int8 = Embedder(settings.embedding_model, backend="onnx", onnx_precision="int8", cache_dir=cache_dir)
    assert fp32.dimension == int8.dimension == torch_embedder.dimension
    got_fp32, got_int8 = fp32.encode(texts), int8.encode(texts)
    assert np.allclose(np.linalg.norm(got_int8, axis=1), 1.0, atol=1e-4)
    assert np.min(np.sum(got_fp32 * want, axis=1)) > 0.9999
    assert np.min(np.sum(got_int8 * want, axis=1)) > 0.98  # per-channel int8: cosine ~0.995 on average
    # Retrieval over the seed paragraphs ranks the same best paragraph for every seed question.
    questions = [q for q, _ in SEED_QUESTIONS]
    para_t, para_o = want[: len(seed_paragraphs)], got_int8[: len(seed_paragraphs)]
    top_t = np.argmax(torch_embedder.encode(questions) @ para_t.T, axis=1)
    top_o = np.argmax(int8.encode(questions) @ para_o.T, axis=1)
    assert (top_t == top_o).mean() >= 8 / 9


def test_query_cache_returns_the_same_vector_without_a_model_call(settings, cache_dir):
    embedder = Embedder(settings.embedding_model, backend="onnx", cache_dir=cache_dir, query_cache_size=2)
    first = embedder.encode_query("Who is the US national security adviser?")
    assert np.allclose(first, embedder.encode(["Who is the US national security adviser?"])[0])
    assert embedder.encode_query("Who is the US national security adviser?") is first
    embedder.encode_query("second")
    embedder.encode_query("third")  # evicts the oldest
    assert embedder.encode_query("Who is the US national security adviser?") is not first
    assert not first.flags.writeable


def test_pipeline_from_settings_on_onnx_answers_seed_questions(settings, cache_dir, tmp_path):
    onnx = settings.model_copy(update={"data_dir": tmp_path, "backend": "onnx", "models_cache_dir": cache_dir})
    reader, embedder = make_reader(onnx), make_embedder(onnx)  # what Pipeline.from_settings(onnx) builds
    assert reader.backend == "onnx" and embedder.backend == "onnx"
    pipeline = Pipeline(onnx, embedder, reader)
    try:
        pipeline.warm_up()
        assert isinstance(reader.model, OnnxSpanModel)
        assert reader.model.exported.exported is False  # exported by an earlier test
        pipeline.ingest(NewDocument(text=SEED_FILE.read_text(encoding="utf-8"), id="seed"))
        for question, expected in SEED_QUESTIONS:
            result = pipeline.ask(question)
            assert not result.no_answer, question
            assert expected.lower() in result.answers[0].text.lower(), (question, result.answers[0].text)
    finally:
        pipeline.close()


def test_default_cache_is_shared_by_data_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for data_dir in (tmp_path / "a", tmp_path / "b"):
        settings = Settings(_env_file=None, data_dir=data_dir)
        assert settings.model_cache == tmp_path / "cache" / "spanqa" / "models-cache"
    assert Settings(_env_file=None, data_dir=tmp_path, models_cache_dir=tmp_path / "x").model_cache == tmp_path / "x"


def test_onnx_embedder_gives_each_text_its_own_vector_whatever_the_batch(settings, cache_dir, seed_paragraphs):
    """Batches are sorted by token count and cut to their longest row: vectors come back in input order.

    fp32, because int8's dynamic quantization scales activations per batch, so its vectors move a
    little with a text's batch mates (cosine ~0.99).
    """
    texts = [seed_paragraphs[0], "short", seed_paragraphs[1][:200], "a question?", *seed_paragraphs[2:4]]
    kwargs = {"backend": "onnx", "onnx_precision": "fp32", "cache_dir": cache_dir}
    one_by_one = Embedder(settings.embedding_model, batch_size=1, **kwargs)
    batched = Embedder(settings.embedding_model, batch_size=4, **kwargs)
    want = np.stack([one_by_one.encode([text])[0] for text in texts])
    got = batched.encode(texts)
    assert got.shape == want.shape
    assert np.min(np.sum(got * want, axis=1)) > 0.9999
