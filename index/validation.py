"""Checks on what users hand spanqa besides files: text fields, document metadata and metadata
filters. One set of rules for the HTTP API, the CLI and the pipeline, each raising InvalidRequest.

Python's `json` accepts `NaN`, `Infinity`, integers of any size and lone UTF-16 surrogates
(`"\\ud800"`); none of them can be stored as JSON in SQLite or encoded as UTF-8, so they are refused here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from errors import InvalidRequest

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_FILTER_KEYS = 50
MAX_FILTER_VALUES = 200  # per key: SQLite refuses expressions much deeper than a thousand terms
MAX_KEY_CHARS = 200
MAX_METADATA_DEPTH = 20


def check_text(value: str, what: str) -> str:
    """`value` when it encodes as UTF-8 (no lone surrogates), else InvalidRequest."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"{what} contains a lone UTF-16 surrogate (not valid Unicode text)") from None
    return value


def check_metadata(metadata: Mapping[str, Any], what: str = "metadata") -> Mapping[str, Any]:
    """`metadata` when every value is JSON that SQLite can store: finite numbers, 64-bit integers,
    valid Unicode, at most MAX_METADATA_DEPTH levels deep; else InvalidRequest naming the key."""
    _check_json(metadata, what, 0)
    return metadata


def check_metadata_filter(metadata: Mapping[str, Any], what: str = "metadata filter") -> Mapping[str, Any]:
    """A filter {key: value or [values]}: at most MAX_FILTER_KEYS keys of 1-MAX_KEY_CHARS characters
    without `"` or NUL, each with a string, finite number, 64-bit integer, boolean or null, or a list of
    at most MAX_FILTER_VALUES of them."""
    if len(metadata) > MAX_FILTER_KEYS:
        raise InvalidRequest(f"{what} has {len(metadata):,} keys, over the limit of {MAX_FILTER_KEYS}")
    for key, value in metadata.items():
        _check_key(key, what)
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_FILTER_VALUES:
            raise InvalidRequest(f"{what} {key!r} has {len(values):,} values, over the limit of {MAX_FILTER_VALUES}")
        for item in values:
            if item is not None and not isinstance(item, (str, int, float, bool)):
                raise InvalidRequest(f"{what} {key!r}: values must be strings, numbers, booleans or null")
            _check_scalar(item, f"{what} {key!r}")
    return metadata


def _check_key(key: object, what: str) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS or '"' in key or "\x00" in key:
        raise InvalidRequest(f"{what}: key {str(key)[:60]!r} must be 1-{MAX_KEY_CHARS} characters without '\"' or NUL")
    check_text(key, f"{what} key")


def _check_scalar(value: object, what: str) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise InvalidRequest(f"{what}: integer {value} is outside the 64-bit range")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidRequest(f"{what}: {value} is not a finite number")
    if isinstance(value, str):
        check_text(value, what)


def _check_json(value: object, what: str, depth: int) -> None:
    if depth > MAX_METADATA_DEPTH:
        raise InvalidRequest(f"{what} is nested more than {MAX_METADATA_DEPTH} levels deep")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequest(f"{what}: keys must be strings")
            check_text(key, f"{what} key")
            _check_json(item, f"{what} {key[:60]!r}", depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_json(item, what, depth + 1)
    elif value is None or isinstance(value, (bool, int, float, str)):
        _check_scalar(value, what)
    else:
        raise InvalidRequest(f"{what}: {type(value).__name__} is not a JSON value")
