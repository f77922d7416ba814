"""BM25 keyword search over the store's chunks: now SQLite FTS5 inside the store (`store.keyword`).

This module keeps the names older callers use: `tokenize`, and `BM25Index(directory, store)`, which
is the store's own keyword search (nothing to build, load, save or sync: the index is written in the
same transaction as the chunks; see `index.store.keyword_fts`).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from index.store.keyword_tokens import TOKENIZER_VERSION, tokenize

__all__ = ["TOKENIZER_VERSION", "BM25Index", "tokenize"]


class BM25Index:
    """The keyword search of `store` (`directory` is ignored: nothing lives in files any more)."""

    def __init__(self, directory: Path | str | None, store: Any) -> None:
        self.store = store

    def search(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        return self.store.keyword.search(query, k, doc_ids)

    def scores_of(self, query: str, chunk_ids: Collection[int]) -> dict[int, float]:
        return self.store.keyword.scores_of(query, chunk_ids)

    def sync(self) -> None:
        """Nothing to do: kept for callers from before FTS5."""
