"""What every format loader takes (limits) and returns (the extracted text), and shared text tidying."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.types import Page


@dataclass(frozen=True)
class LoadLimits:
    """Bounds on one file: extracted characters, pages, and (for zip-based formats) the archive's
    total uncompressed size, its compression ratio and its number of entries."""

    max_chars: int = 5_000_000
    max_pages: int = 2000
    max_unpacked_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: float = 100.0
    max_archive_entries: int = 10_000


@dataclass
class LoadedText:
    """The text spanqa stores and cites, a title when the format has one, and page spans
    (`text[page.start:page.end]` is page `page.number`) where the format has pages."""

    text: str
    content_type: str
    title: str | None = None
    pages: list[Page] = field(default_factory=list)


_TRAILING_SPACE = " \t\u00a0"
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy_text(text: str) -> str:
    """One newline convention, no trailing spaces on lines, at most one blank line in a row,
    no leading or trailing blank lines, and no NUL or other C0 control characters but tab,
    newline and form feed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch >= " " or ch in "\n\t\f")
    # str.rstrip per line, not a `[ \t]+$` regex: that one backtracks quadratically on long runs of spaces.
    text = "\n".join(line.rstrip(_TRAILING_SPACE) for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


def first_line(text: str | None, max_chars: int = 200) -> str | None:
    """The first non-blank line of `text`, whitespace collapsed, or None."""
    for line in (text or "").splitlines():
        words = " ".join(line.split())
        if words:
            return words[:max_chars]
    return None


def join_pages(page_texts: list[str], separator: str = "\n\n") -> tuple[str, list[Page]]:
    """The pages' texts joined by `separator`, and each page's (1-based) span in the joined text.

    Every page gets a span (an empty one for a page without text, with no separator for it), so page
    numbers stay those of the file.
    """
    parts: list[str] = []
    pages: list[Page] = []
    position = 0
    for number, page_text in enumerate(page_texts, start=1):
        if page_text and position:
            parts.append(separator)
            position += len(separator)
        parts.append(page_text)
        pages.append(Page(number=number, start=position, end=position + len(page_text)))
        position += len(page_text)
    return "".join(parts), pages
