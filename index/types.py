"""Plain data types that flow through ingest: Document, Page, Chunk."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Page:
    """A page of a document: `text[start:end]` of the document is page `number` (1-based)."""

    number: int
    start: int
    end: int


@dataclass
class Document:
    """A stored document. `text` is what every citation points into."""

    id: str
    title: str
    text: str
    pages: list[Page] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    content_type: str = "text/plain"
    content_hash: str = ""
    created_at: float = 0.0

    def page_at(self, offset: int) -> int | None:
        """The 1-based page number that holds character `offset`, or None without pages."""
        for page in self.pages:
            if page.start <= offset < page.end:
                return page.number
        return self.pages[-1].number if self.pages and offset >= self.pages[-1].end else None


@dataclass(frozen=True)
class Chunk:
    """A window of a document: `document.text[start:end] == text` always.

    `id` is the store's chunk id (also its FAISS id); it is None before the chunk is stored.
    """

    doc_id: str
    start: int
    end: int
    text: str
    page: int | None = None
    id: int | None = None
