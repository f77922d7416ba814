"""The FAISS index on disk: `index.faiss` plus `index.json`, a sidecar naming the write it reflects.

The sidecar holds the stamp of the SQLite write the index reflects (its generation and that write's
random token), the index type, the dimension and a checksum of the index file. At open the file is
used only when all of them match; anything else is rebuilt from the vectors in SQLite.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from index.store.faiss_index import IndexType, VectorIndex
from index.store.files import write_atomically

logger = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"
INDEX_META_FILE = "index.json"


def save_vectors(directory: Path, vectors: VectorIndex, stamp: Mapping[str, Any], model_name: str) -> None:
    """Write the index, then its sidecar (each with temp file + rename)."""
    data = vectors.serialize()
    sidecar = {
        **stamp,
        "index_type": vectors.index_type,
        "dimension": vectors.dimension,
        "model_name": model_name,
        "vectors": int(vectors.index.ntotal),
        "blake2b": hashlib.blake2b(data.data, digest_size=16).hexdigest(),
    }
    write_atomically(directory / INDEX_FILE, data.tobytes())
    write_atomically(directory / INDEX_META_FILE, json.dumps(sidecar).encode())


def load_vectors(
    directory: Path, stamp: Mapping[str, Any], dimension: int, index_type: IndexType
) -> VectorIndex | None:
    """The persisted index if its sidecar carries `stamp`, the type and dimension, and its checksum holds."""
    index_path, meta_path = directory / INDEX_FILE, directory / INDEX_META_FILE
    if not index_path.exists() or not meta_path.exists():
        return None
    try:
        sidecar = json.loads(meta_path.read_text(encoding="utf-8"))
        data = np.fromfile(index_path, dtype=np.uint8)
    except (OSError, ValueError) as error:
        logger.warning("cannot read the persisted FAISS index (%s)", error)
        return None
    expected = {**stamp, "index_type": index_type, "dimension": dimension}
    if not isinstance(sidecar, dict) or any(sidecar.get(key) != value for key, value in expected.items()):
        logger.info("persisted FAISS index is stale or of another kind: %s != %s", sidecar, expected)
        return None
    if sidecar.get("blake2b") != hashlib.blake2b(data.data, digest_size=16).hexdigest():
        logger.warning("persisted FAISS index fails its checksum")
        return None
    try:
        return VectorIndex.deserialize(data, dimension, index_type)
    except (RuntimeError, ValueError) as error:
        logger.warning("cannot load the persisted FAISS index (%s)", error)
        return None
