"""Validation of what is about to be written, before any write starts (shared by every backend)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.store.sqlite_rows import metadata_json
from index.types import Chunk, Document


@dataclass
class Prepared:
    """A document and its chunks ready for insertion."""

    document: Document
    chunks: list[Chunk]
    vectors: np.ndarray


def prepare(document: Document, chunks: list[Chunk], vectors: np.ndarray, dimension: int) -> Prepared:
    """Validate one item (ValueError if anything is off): vector shape and values, chunk offsets,
    metadata that strict JSON can hold."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if not chunks and matrix.size == 0:
        matrix = np.zeros((0, dimension), dtype=np.float32)
    if matrix.shape != (len(chunks), dimension):
        raise ValueError(
            f"document {document.id!r}: vectors have shape {np.shape(vectors)}, "
            f"expected ({len(chunks)}, {dimension}) for {len(chunks)} chunks"
        )
    if not np.isfinite(matrix).all():
        raise ValueError(f"document {document.id!r}: vectors contain NaN or infinity")
    for chunk in chunks:
        if chunk.doc_id != document.id:
            raise ValueError(f"chunk of {chunk.doc_id!r} given with document {document.id!r}")
        in_range = 0 <= chunk.start <= chunk.end <= len(document.text)
        if not in_range or document.text[chunk.start : chunk.end] != chunk.text:
            raise ValueError(f"document {document.id!r}: chunk [{chunk.start}, {chunk.end}) does not slice to its text")
    metadata_json(document)
    return Prepared(document, list(chunks), np.ascontiguousarray(matrix, dtype="<f4"))
