"""Metadata filters compiled to SQL over the documents' JSON metadata column."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def check_metadata_key(key: object) -> str:
    if not isinstance(key, str) or not key or '"' in key:
        raise ValueError(f"metadata key {key!r} must be a non-empty string without '\"'")
    return key


def compile_filter(metadata: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """A WHERE clause (and its parameters) matching documents whose metadata has every key of
    `metadata` with an equal value (JSON types compared: 1 matches 1.0 but neither "1" nor true); a
    list value matches any of its values. Rows whose metadata is not strict JSON never match."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, value in metadata.items():
        path = f'$."{check_metadata_key(key)}"'
        alternatives: list[str] = []
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                alternatives.append("json_type(metadata, ?) = 'null'")
                params.append(path)
            elif isinstance(item, bool):
                alternatives.append("json_type(metadata, ?) = ?")
                params += [path, "true" if item else "false"]
            elif isinstance(item, float) and not math.isfinite(item):
                continue  # strict JSON holds no NaN or infinity: nothing equals it
            elif isinstance(item, (int, float, str)):
                if isinstance(item, int) and not -(2**63) <= item < 2**63:
                    item = float(item)  # beyond SQLite's integers: compared as JSON compares it, a real
                types = "('text')" if isinstance(item, str) else "('integer', 'real')"
                alternatives.append(f"(json_type(metadata, ?) IN {types} AND json_extract(metadata, ?) = ?)")
                params += [path, path, item]
            else:
                raise ValueError(f"metadata value {item!r} for {key!r} is not a string, number, boolean or null")
        clauses.append(f"({' OR '.join(alternatives)})" if alternatives else "0")
    if not clauses:
        return "1", []
    # CASE evaluates lazily: a row stored before metadata was kept strict (NaN) never reaches json_type
    return f"CASE WHEN json_valid(metadata) THEN {' AND '.join(clauses)} ELSE 0 END", params
