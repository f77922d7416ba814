"""Fields of the multipart forms the upload routes read (documents, jobs)."""

from __future__ import annotations

import json
from typing import Any

from errors import InvalidRequest
from index.validation import check_metadata


def form_metadata(raw: object) -> dict[str, Any]:
    """The form field `metadata`: a JSON object of storable metadata (absent or blank: {})."""
    if not isinstance(raw, str) or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise InvalidRequest("form field 'metadata' must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidRequest("form field 'metadata' must be a JSON object")
    return dict(check_metadata(value))
