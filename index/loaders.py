"""Turning file bytes into the text spanqa stores and cites, chosen by file type.

Each loader takes the raw bytes and returns `LoadedText`: the extracted text (what every
citation points into), a title when the format has one, and page spans where there are pages.
New formats register with `@loader(".ext", content_type=...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath

from charset_normalizer import from_bytes

from index.errors import DocumentTooLarge, UnreadableDocument, UnsupportedFileType
from index.types import Page


@dataclass(frozen=True)
class LoadLimits:
    max_chars: int = 5_000_000
    max_pages: int = 2000


@dataclass
class LoadedText:
    text: str
    content_type: str
    title: str | None = None
    pages: list[Page] = field(default_factory=list)


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


def supported_suffixes() -> list[str]:
    return sorted(_REGISTRY)


def suffix_of(filename: str) -> str:
    return PurePath(filename).suffix.lower()


def is_supported(filename: str) -> bool:
    return suffix_of(filename) in _REGISTRY


def load_bytes(data: bytes, filename: str, limits: LoadLimits = LoadLimits()) -> LoadedText:
    """Extracts the text of a file. Raises UnsupportedFileType, UnreadableDocument, DocumentTooLarge."""
    suffix = suffix_of(filename)
    entry = _REGISTRY.get(suffix)
    if entry is None:
        raise UnsupportedFileType(
            f"unsupported file type {suffix or '(no extension)'!r} for {filename!r};"
            f" supported: {', '.join(supported_suffixes())}"
        )
    loaded = entry.fn(data, limits)
    text = loaded.text
    if len(text) > limits.max_chars:
        raise DocumentTooLarge(
            f"{filename!r} has {len(text):,} characters of text, over the limit of {limits.max_chars:,}"
        )
    if not text.strip():
        raise UnreadableDocument(f"{filename!r} contains no text")
    return loaded


def normalize_text(text: str) -> str:
    """One newline convention and no byte-order mark; everything else is kept as it is."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes, what: str = "the file") -> str:
    """Decodes bytes in any common encoding (detected), or raises UnreadableDocument."""
    if not data.strip():
        raise UnreadableDocument(f"{what} is empty")
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return normalize_text(data.decode(encoding))
            except UnicodeDecodeError:
                break
    try:
        return normalize_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise UnreadableDocument(f"{what} is binary data, not text")
    best = from_bytes(data).best()
    if best is None:
        raise UnreadableDocument(f"{what} is not text in any common encoding")
    text = str(best)
    if _control_ratio(text) > 0.05:
        raise UnreadableDocument(f"{what} is binary data, not text")
    return normalize_text(text)


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    sample = text[:100_000]
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f") or 0x7F <= ord(ch) < 0xA0)
    return bad / len(sample)


@loader(".txt", ".text", content_type="text/plain")
def load_plain_text(data: bytes, limits: LoadLimits) -> LoadedText:
    return LoadedText(text=decode_text(data), content_type="text/plain")


@loader(".md", ".markdown", content_type="text/markdown")
def load_markdown(data: bytes, limits: LoadLimits) -> LoadedText:
    text = decode_text(data)
    title = next((line.lstrip("#").strip() for line in text.splitlines() if line.startswith("# ")), None)
    return LoadedText(text=text, content_type="text/markdown", title=title)
