"""Metadata filters compiled to SQL over the documents' `jsonb` metadata column.

Same meaning as the SQLite filter (`metadata_filter`): every key must be present with an equal
value, JSON types compared (jsonb equality: 1 equals 1.0, but neither "1" nor true); a list value
matches any of its values; NaN and infinity match nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from psycopg.types.json import Jsonb

from index.store.metadata_filter import check_metadata_key


def compile_jsonb_filter(metadata: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """A WHERE clause over `metadata` (a jsonb column) and its parameters; ValueError for a bad filter."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in metadata.items():
        check_metadata_key(key)
        wanted: list[Any] = []
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, float) and not math.isfinite(item):
                continue  # strict JSON holds no NaN or infinity: nothing equals it
            if item is not None and not isinstance(item, (bool, int, float, str)):
                raise ValueError(f"metadata value {item!r} for {key!r} is not a string, number, boolean or null")
            wanted.append(Jsonb(item))
        if not wanted:
            clauses.append("false")
            continue
        clauses.append(f"(metadata -> %s) IN ({', '.join(['%s'] * len(wanted))})")
        params += [key, *wanted]
    return (" AND ".join(clauses) or "true"), params
