"""Documents, chunks, vectors and keyword search behind one store contract.

`open_store(StoreConfig(...))` is the only way to get a store; the names below are what callers use.
"""

from index.store.factory import StoreConfig, open_store
from index.store.sqlite_faiss import (
    DB_FILE,
    INDEX_FILE,
    INDEX_META_FILE,
    ChunkSnapshot,
    DocumentInfo,
    FaissSqliteStore,
    IndexType,
    Store,
    write_atomically,
)

__all__ = [
    "DB_FILE",
    "INDEX_FILE",
    "INDEX_META_FILE",
    "ChunkSnapshot",
    "DocumentInfo",
    "FaissSqliteStore",
    "IndexType",
    "Store",
    "StoreConfig",
    "open_store",
    "write_atomically",
]
