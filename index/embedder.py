"""Sentence embeddings with sentence-transformers: normalized float32 vectors, batched."""

from __future__ import annotations

import numpy as np
from sentence_transformers import SentenceTransformer


class Embedder:
    """Wraps a sentence-transformers model given by local path or hub id."""

    def __init__(self, model: str, *, device: str = "cpu", batch_size: int = 64) -> None:
        self.name = model
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
