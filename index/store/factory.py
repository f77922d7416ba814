"""The one place a store is built: `open_store(config)` picks the backend and opens it.

`index` knows nothing about settings: the composition root (`qa.wiring`) turns the settings into a
`StoreConfig` and calls `open_store`; nothing else constructs a store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from index.store.faiss_index import IndexType
from index.store.sqlite_faiss import FaissSqliteStore

Backend = Literal["sqlite-faiss"]


@dataclass(frozen=True)
class StoreConfig:
    """What a store needs to open: where it lives and which embedding model its vectors come from."""

    data_dir: Path
    dimension: int
    model_name: str
    backend: Backend = "sqlite-faiss"
    index_type: IndexType = "flat"
    read_only: bool = False
    database_url: str | None = None
    check_model: bool = True  # False: open whatever model the index holds (to rebuild its vectors)


def open_store(config: StoreConfig) -> FaissSqliteStore:
    """Open (or create) the store `config` describes; its keyword index is `store.keyword`."""
    if config.backend != "sqlite-faiss":
        raise ValueError(f"unknown store backend {config.backend!r}")
    from index.bm25 import BM25Index  # index.bm25 reads the store's snapshots: imported here, not at the top

    store = FaissSqliteStore(
        config.data_dir,
        dimension=config.dimension,
        model_name=config.model_name,
        index_type=config.index_type,
        read_only=config.read_only,
        _check_model=config.check_model,
    )
    store.keyword = BM25Index(Path(config.data_dir) / "bm25", store)
    return store
