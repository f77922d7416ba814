"""Every error spanqa reports to a user, in one place below every package. `api.errors` maps each to an HTTP status."""

from __future__ import annotations


class SpanqaError(Exception):
    """Base of every error spanqa reports to a user (the message says what is wrong)."""


class UnsupportedFileType(SpanqaError):
    """No loader for this file type (HTTP 415)."""


class UnreadableDocument(SpanqaError):
    """Bytes that are not text in any common encoding, a corrupt file, no extractable text (422)."""


class DocumentTooLarge(SpanqaError):
    """Over an upload, page-count or extracted-text limit (413)."""


class DocumentNotFound(SpanqaError):
    """No document with this id (404)."""


class InvalidRequest(SpanqaError):
    """A request that is well-formed JSON but asks for something impossible (422)."""


class IndexError_(SpanqaError):
    """Base for problems with the index itself."""


class IndexLocked(IndexError_):
    """Another process holds the writer lock on this data directory (409 / CLI error)."""


class IndexModelMismatch(IndexError_):
    """The index was built with another embedding model or dimension."""


class IndexCorrupt(IndexError_):
    """FAISS and SQLite disagree and cannot be reconciled."""


class CollectionNotFound(SpanqaError):
    """No collection with this name (404)."""


class CollectionConflict(SpanqaError):
    """A collection that exists already, `default` (which cannot be deleted), or one in use elsewhere (409)."""
