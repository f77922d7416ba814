"""Document ids: the characters and length an id may have, checked wherever an id comes in.

An id is 1-200 characters from `A-Z a-z 0-9 . _ ~ : @ + -` and is not `.` or `..`: safe in a URL path
segment, a file name and a shell without quoting. Ids spanqa derives itself (from a file name or the
text) already have this form. Ids stored before this rule existed stay readable and deletable.
"""

from __future__ import annotations

import re

from errors import InvalidRequest

DOC_ID_CHARS = "A-Za-z0-9._~:@+-"
DOC_ID_MAX_CHARS = 200
_DOC_ID = re.compile(f"[{DOC_ID_CHARS}]{{1,{DOC_ID_MAX_CHARS}}}")


def is_valid_doc_id(doc_id: str) -> bool:
    return bool(_DOC_ID.fullmatch(doc_id)) and doc_id not in (".", "..")


def check_doc_id(doc_id: str) -> str:
    """`doc_id` when it is a valid document id, else InvalidRequest saying what an id may be."""
    if not is_valid_doc_id(doc_id):
        shown = doc_id if len(doc_id) <= 60 else doc_id[:60] + "..."
        raise InvalidRequest(
            f"invalid document id {shown!r}: use 1-{DOC_ID_MAX_CHARS} characters from"
            f" letters, digits and . _ ~ : @ + - (not '.' or '..')"
        )
    return doc_id
