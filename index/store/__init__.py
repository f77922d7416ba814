"""Documents, chunks, vectors and keyword search behind one store contract (`protocol`).

`open_store(StoreConfig(...))` is the only way to get a store; the names below are what callers use.
"""

from index.store.factory import StoreConfig, open_key_store, open_store
from index.store.faiss_file import INDEX_FILE, INDEX_META_FILE
from index.store.faiss_index import IndexType, VectorIndex
from index.store.files import write_atomically
from index.store.protocol import (
    AuditEntry,
    DocumentInfo,
    DocumentStore,
    KeyRecord,
    KeyStore,
    KeywordSearch,
    Store,
    StoreAdmin,
    VectorSearch,
)
from index.store.sqlite_db import DB_FILE
from index.store.sqlite_faiss import FaissSqliteStore
from index.store.sqlite_reads import ChunkSnapshot

__all__ = [
    "AuditEntry",
    "KeyRecord",
    "KeyStore",
    "open_key_store",
    "DB_FILE",
    "INDEX_FILE",
    "INDEX_META_FILE",
    "ChunkSnapshot",
    "DocumentInfo",
    "DocumentStore",
    "FaissSqliteStore",
    "IndexType",
    "KeywordSearch",
    "Store",
    "StoreAdmin",
    "StoreConfig",
    "VectorIndex",
    "VectorSearch",
    "open_store",
    "write_atomically",
]
