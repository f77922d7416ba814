"""Small, deterministic stand-ins for the models, for the fast test layer (tests/unit).

- `HashBagEmbedder`: a bag of hashed words, normalised: texts sharing words get close vectors.
- `OverlapSpanModel`: start/end logits that mark the token after a question word inside the
  context, as a QA model would score the words following the question's words.
- `fake_pipeline`: a real `Pipeline` (real chunker, store, retriever, span decoding, answer
  selection, citation checks) over those fakes and a fresh store: the store's in-memory backend
  when it exists, else a SQLite + FAISS store in a temporary folder.

The tokenizers are the real models' (small files, read in milliseconds): the chunker and the reader's
windowing and offsets run unchanged.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from index.store import Store, StoreConfig, open_store
from qa.pipeline import Pipeline
from qa.reader import Reader
from qa.settings import Settings
from qa.wiring import make_reader

_WORD = re.compile(r"\w+")


@lru_cache(maxsize=4)
def _tokenizer(model: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model)


class HashBagEmbedder:
    """Each lower-cased word adds 1 to dimension crc32(word) % dimension; vectors are unit length."""

    name = "fake/hash-bag"
    identity = "fake/hash-bag"

    def __init__(self, tokenizer_model: str, dimension: int = 64) -> None:
        self.dimension = dimension
        self.tokenizer = _tokenizer(tokenizer_model)
        self.calls = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                out[row, zlib.crc32(word.encode()) % self.dimension] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm == 0:
                out[row, 0], norm = 1.0, 1.0
            out[row] /= norm
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def warm_up(self) -> None:
        pass


class OverlapSpanModel:
    """Logits for [CLS] question [SEP] context [SEP] windows: a context token right after a token
    that also occurs in the question starts a span (logit 6), which ends on the next token (6);
    everything else, [CLS] included, scores 0. So a span scores 12 (above the default no-answer
    threshold of 5) when the question shares a word with the context, and nothing passes otherwise."""

    def __init__(self, sep_token_id: int) -> None:
        self.sep = sep_token_id
        self.calls = 0

    def __call__(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        ids, mask = inputs["input_ids"], inputs["attention_mask"]
        start = np.zeros(ids.shape, dtype=np.float32)
        end = np.zeros(ids.shape, dtype=np.float32)
        for row in range(ids.shape[0]):
            seps = np.flatnonzero(ids[row] == self.sep)
            if len(seps) < 2:
                continue
            question = set(ids[row, 1 : seps[0]].tolist())
            last = min(int(seps[-1]), int(mask[row].sum()) - 1)
            for pos in range(int(seps[0]) + 2, last - 1):
                if ids[row, pos - 1] in question and ids[row, pos] not in question:
                    start[row, pos] = 6.0 - 1e-3 * pos  # earlier spans first, deterministically
                    end[row, pos + 1] = 6.0
        return start, end


def fast_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for the fast layer: the real models' names (for their tokenizers); the API answers
    TestClient's Host ("testserver")."""
    options: dict[str, Any] = {"allowed_hosts": "testserver", **overrides}
    return Settings(_env_file=None, data_dir=data_dir, **options)  # type: ignore[call-arg]


def fake_reader(settings: Settings) -> Reader:
    """The real Reader (windowing, span decoding) over `OverlapSpanModel`."""
    sep = _tokenizer(settings.reader_model).sep_token_id
    return make_reader(settings, span_model=OverlapSpanModel(int(sep)))


def fake_store(settings: Settings, embedder: HashBagEmbedder, *, memory: bool = True) -> Store:
    """A store for `embedder`: the in-memory backend when `memory` and the store package has one,
    else SQLite + FAISS in `settings.data_dir` (which persists between pipelines)."""
    options: dict[str, Any] = dict(dimension=embedder.dimension, model_name=embedder.identity)
    if memory:
        try:
            return open_store(StoreConfig(settings.data_dir, backend="memory", **options))  # type: ignore[arg-type]
        except ValueError:
            pass
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return open_store(StoreConfig(settings.data_dir, **options))


def fake_pipeline(data_dir: Path, *, memory: bool = True, **overrides: Any) -> Pipeline:
    """A real Pipeline over the fake models and a store in (or named after) `data_dir`."""
    settings = fast_settings(data_dir, **overrides)
    embedder = HashBagEmbedder(settings.embedding_model)
    return Pipeline(settings, embedder, fake_reader(settings), fake_store(settings, embedder, memory=memory))
