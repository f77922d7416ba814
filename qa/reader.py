"""The extractive reader: question + passages -> scored character spans of those passages.

transformers 5 has no question-answering pipeline, so windowing and span decoding live here.
Text becomes model windows through `qa.windows.encode_windows` (the same function training
uses); windows of all (question, context) pairs are run through the model in length-sorted
batches, and each window's start/end logits are decoded into character spans with numpy.
The model runs in PyTorch (`backend="torch"`) or in ONNX Runtime (`backend="onnx"`, fp32 or
dynamic int8, exported once and cached by `qa.reader_export`); tokenization and decoding are
the same for both.

Scores are raw logits, `start_logit + end_logit`, never softmaxed per window: a softmax would
normalise each window on its own, so two windows' probabilities would not be comparable, while
raw logits are on one scale across windows and passages. That lets one n-best list rank spans
from every passage, and one no-answer threshold apply to all of them (see `confidence`).

The model backends live in `qa.span_models`, the span decoding in `qa.span_decoding`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from transformers import AutoTokenizer

from index.lazy import LoadOnce
from qa.span_decoding import decode_spans, null_scores
from qa.span_models import OnnxSpanModel, SpanModel, TorchSpanModel
from qa.windows import Windows, encode_windows

Backend = Literal["torch", "onnx"]

# Questions are cut to this many tokens (SQuAD's max_query_length) so every window keeps room
# for context: the tokenizer cannot make windows at all when question + stride fill one.
MAX_QUESTION_TOKENS = 64


@dataclass(frozen=True)
class Span:
    """A candidate answer: `contexts[context_index][start:end] == text`."""

    context_index: int  # index into the `contexts` list given to `Reader.read`
    start: int  # character offsets into contexts[context_index]
    end: int
    text: str
    # start_logit + end_logit. Raw logits, not softmaxed per window, so scores compare
    # across windows and passages (a per-window softmax would not).
    score: float
    start_logit: float
    end_logit: float


@dataclass(frozen=True)
class Reading:
    """What the reader found for one question."""

    spans: list[Span]  # n-best over all contexts and windows, best first, one per char span
    # The model's no-answer score: min over windows of the [CLS] start+end logit (SQuAD 2.0
    # convention); nan when there were no windows (no contexts).
    null_score: float


def confidence(score: float, threshold: float) -> float:
    """A 0..1 confidence for a span score: `sigmoid(score - threshold)`.

    `threshold` is the no-answer threshold on span scores (start+end logits), so confidence is
    0.5 exactly at the threshold, above 0.5 for spans scoring above it, and below for those
    under. It is a monotone rescaling of the score for display, not a calibrated probability.
    """
    x = score - threshold
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)  # stable for very negative x
    return z / (1.0 + z)


class Reader:
    """An extractive QA model (local path or hub id) with windowing and span decoding.

    The tokenizer and model load on first use (or `load()` / `warm_up()`), once, thread-safe;
    `span_model` injects a model (a test fake, or one built elsewhere) instead of loading one.
    """

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        max_length: int = 256,
        stride: int = 96,
        batch_size: int = 16,
        max_answer_tokens: int = 30,
        backend: Backend = "torch",
        onnx_precision: Literal["fp32", "int8"] = "int8",
        cache_dir: Path | None = None,
        threads: int = 0,
        span_model: SpanModel | None = None,
    ) -> None:
        """`backend="onnx"` runs the model in ONNX Runtime: exported (and with
        `onnx_precision="int8"` quantized) once into `cache_dir`, then loaded from there.
        `threads`: ONNX Runtime intra-op threads (0 = one per physical core); the torch
        backend uses torch's global setting (`torch.set_num_threads`)."""
        self.name = model
        self.backend = backend
        self.device = torch.device(device)
        self.max_length = max_length
        self.stride = stride
        self.batch_size = batch_size
        self.max_answer_tokens = max_answer_tokens
        context_room = max_length - 3 - MAX_QUESTION_TOKENS  # 3: [CLS] q [SEP] c [SEP]
        if not 0 <= stride < context_room:
            raise ValueError(
                f"stride must be in [0, {context_room}) for windows of {max_length} tokens "
                f"(questions take up to {MAX_QUESTION_TOKENS}), got {stride}"
            )
        if backend not in ("torch", "onnx"):
            raise ValueError(f"unknown reader backend {backend!r} (torch or onnx)")
        self._onnx_precision = onnx_precision
        self._cache_dir = cache_dir
        self._threads = threads
        self._model: SpanModel | None = span_model
        self._warm = False
        self._load_once = LoadOnce(self._load)

    def load(self) -> None:
        """Loads the tokenizer and (unless injected) the model; later calls do nothing."""
        self._load_once()

    def _load(self) -> None:
        self._tokenizer = AutoTokenizer.from_pretrained(self.name)
        # Questions are clipped with their own tokenizer instance: a fast tokenizer keeps its
        # truncation setting as state and each call with other settings rewrites it, which is not
        # safe while another thread encodes with it (concurrent requests). With two instances,
        # each keeps one setting for good. (A precaution: no failure was reproduced.)
        self._question_tokenizer = copy.deepcopy(self._tokenizer)
        if self._model is None:
            if self.backend == "torch":
                self._model = TorchSpanModel(self.name, self.device)
            else:
                self._model = OnnxSpanModel(
                    self.name, cache_dir=self._cache_dir, precision=self._onnx_precision, threads=self._threads
                )
        # Models without segment embeddings (RoBERTa, DistilBERT) take no token_type_ids.
        self._uses_token_type_ids = "token_type_ids" in self._tokenizer.model_input_names
        self._cls_id = self._tokenizer.cls_token_id

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def model(self) -> SpanModel:
        self.load()
        assert self._model is not None
        return self._model

    def warm_up(self) -> None:
        """Loads the model and runs one small read (once), so the first real request pays for neither."""
        self.load()
        if not self._warm:
            self.read("What is this?", ["This is a warm-up passage for the reader model."], n_best=1)
            self._warm = True

    def read(self, question: str, contexts: list[str], n_best: int = 5) -> Reading:
        """The `n_best` spans answering `question` across all `contexts`, best first."""
        return self.read_batch([question], [contexts], n_best=n_best)[0]

    def read_batch(self, questions: list[str], contexts: list[list[str]], n_best: int = 5) -> list[Reading]:
        """`read` for many questions at once: the windows of all pairs are batched together."""
        if len(questions) != len(contexts):
            raise ValueError("questions and contexts must have the same length")
        self.load()
        pairs = [(qi, ci) for qi, ctxs in enumerate(contexts) for ci in range(len(ctxs))]
        if not pairs:
            return [Reading(spans=[], null_score=math.nan) for _ in questions]
        pair_contexts = [contexts[qi][ci] for qi, ci in pairs]
        clipped = [self._clip_question(q) for q in questions]
        windows = encode_windows(
            self.tokenizer,
            [clipped[qi] for qi, _ in pairs],
            pair_contexts,
            max_length=self.max_length,
            stride=self.stride,
        )
        start_logits, end_logits = self._logits(windows)
        null = self._null_scores(windows, start_logits, end_logits)
        candidates = self._decode(windows, start_logits, end_logits, pair_contexts, n_best)

        best: list[dict[tuple[int, int, int], Span]] = [{} for _ in questions]
        nulls = [math.inf for _ in questions]
        for w, pair in enumerate(windows.sample_index):
            qi, ci = pairs[pair]
            nulls[qi] = min(nulls[qi], float(null[w]))
            for start, end, s_logit, e_logit in candidates[w]:
                key = (ci, start, end)
                score = s_logit + e_logit
                kept = best[qi].get(key)
                if kept is None or score > kept.score:  # overlapping windows: keep the best
                    best[qi][key] = Span(
                        context_index=ci,
                        start=start,
                        end=end,
                        text=contexts[qi][ci][start:end],
                        score=score,
                        start_logit=s_logit,
                        end_logit=e_logit,
                    )
        return [
            Reading(
                spans=sorted(spans.values(), key=lambda s: s.score, reverse=True)[:n_best],
                null_score=nulls[qi] if nulls[qi] != math.inf else math.nan,
            )
            for qi, spans in enumerate(best)
        ]

    def _clip_question(self, question: str) -> str:
        """The question cut after its first `MAX_QUESTION_TOKENS` tokens (most are far shorter)."""
        encoded = self._question_tokenizer(question.strip(), add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        if len(offsets) <= MAX_QUESTION_TOKENS:
            return question
        return question.strip()[: offsets[MAX_QUESTION_TOKENS - 1][1]]

    def _logits(self, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits (windows x tokens), run in batches of similar length.

        Windows are sorted by length and each batch is cut to its longest window, so short
        windows do not pay for the padding of long ones. Padding positions get -inf.
        """
        mask = windows.attention_mask.astype(bool)
        lengths = mask.sum(axis=1)
        order = np.argsort(-lengths, kind="stable")
        n, width = windows.input_ids.shape
        start_out = np.full((n, width), -np.inf, dtype=np.float32)
        end_out = np.full((n, width), -np.inf, dtype=np.float32)
        for b in range(0, n, self.batch_size):
            rows = order[b : b + self.batch_size]
            used = np.flatnonzero(mask[rows].any(axis=0))  # columns not padding everywhere
            cols = slice(int(used[0]), int(used[-1]) + 1)
            inputs = {
                "input_ids": windows.input_ids[rows, cols],
                "attention_mask": windows.attention_mask[rows, cols],
            }
            if self._uses_token_type_ids and windows.token_type_ids is not None:
                inputs["token_type_ids"] = windows.token_type_ids[rows, cols]
            start, end = self.model({k: np.ascontiguousarray(v, dtype=np.int64) for k, v in inputs.items()})
            start_out[rows, cols] = start
            end_out[rows, cols] = end
        start_out[~mask] = -np.inf
        end_out[~mask] = -np.inf
        return start_out, end_out

    def _null_scores(self, windows: Windows, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return null_scores(windows, start, end, self._cls_id)

    def _decode(
        self, windows: Windows, start: np.ndarray, end: np.ndarray, pair_contexts: list[str], n_best: int
    ) -> list[list[tuple[int, int, float, float]]]:
        return decode_spans(windows, start, end, pair_contexts, n_best, self.max_answer_tokens)
