"""Turning file bytes into the text spanqa stores and cites, chosen by file type.

Each loader takes the raw bytes and the limits and returns `LoadedText`: the extracted text (what
every citation points into), a title when the format has one, and page spans where there are pages.
The formats live in `index.formats`; new ones register with `@loader(".ext", content_type=...)`.

| suffixes | format | pages |
|---|---|---|
| .txt .text | plain text, any common encoding (detected) | no |
| .md .markdown | Markdown, stored as readable text | no |
| .html .htm .xhtml | the page's main text | no |
| .pdf | the text layer of every page | yes |
| .docx | paragraphs and tables in reading order | no |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from errors import DocumentTooLarge, UnreadableDocument, UnsupportedFileType
from index.formats.base import LoadedText, LoadLimits
from index.formats.html import load_html
from index.formats.markdown import load_markdown
from index.formats.pdf import load_pdf
from index.formats.text import decode_text, load_plain_text, normalize_text
from index.formats.word import load_docx

__all__ = [
    "LoadLimits",
    "LoadedText",
    "decode_text",
    "normalize_text",
    "loader",
    "load_bytes",
    "content_type_of",
    "is_supported",
    "suffix_of",
    "supported_suffixes",
]

LoaderFn = Callable[[bytes, LoadLimits], LoadedText]


@dataclass(frozen=True)
class _Entry:
    fn: LoaderFn
    content_type: str


_REGISTRY: dict[str, _Entry] = {}


def loader(*suffixes: str, content_type: str) -> Callable[[LoaderFn], LoaderFn]:
    """Registers a loader for file names ending in `suffixes` (lower case, with the dot)."""

    def register(fn: LoaderFn) -> LoaderFn:
        for suffix in suffixes:
            _REGISTRY[suffix.lower()] = _Entry(fn, content_type)
        return fn

    return register


loader(".txt", ".text", content_type="text/plain")(load_plain_text)
loader(".md", ".markdown", content_type="text/markdown")(load_markdown)
loader(".html", ".htm", ".xhtml", content_type="text/html")(load_html)
loader(".pdf", content_type="application/pdf")(load_pdf)
loader(".docx", content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document")(load_docx)


def supported_suffixes() -> list[str]:
    return sorted(_REGISTRY)


def suffix_of(filename: str) -> str:
    return PurePath(filename).suffix.lower()


def is_supported(filename: str) -> bool:
    return suffix_of(filename) in _REGISTRY


def content_type_of(filename: str) -> str | None:
    """The content type spanqa stores for this file name, or None when no loader reads it."""
    entry = _REGISTRY.get(suffix_of(filename))
    return entry.content_type if entry else None


def load_bytes(data: bytes, filename: str, limits: LoadLimits = LoadLimits()) -> LoadedText:
    """Extracts the text of a file. Raises UnsupportedFileType, UnreadableDocument, DocumentTooLarge,
    each with a message that names the file and says what is wrong."""
    suffix = suffix_of(filename)
    entry = _REGISTRY.get(suffix)
    if entry is None:
        raise UnsupportedFileType(
            f"unsupported file type {suffix or '(no extension)'!r} for {filename!r};"
            f" supported: {', '.join(supported_suffixes())}"
        )
    if not data.strip():
        raise UnreadableDocument(f"{filename!r} is empty")
    try:
        loaded = entry.fn(data, limits)
    except (UnreadableDocument, DocumentTooLarge) as error:
        raise type(error)(f"{filename!r}: {error}") from None
    text = loaded.text
    if len(text) > limits.max_chars:
        raise DocumentTooLarge(
            f"{filename!r} has {len(text):,} characters of text, over the limit of {limits.max_chars:,}"
        )
    if not text.strip():
        raise UnreadableDocument(f"{filename!r} contains no text")
    return loaded
