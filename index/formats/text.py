"""Plain text in any common encoding: byte-order marks, UTF-8, UTF-16, Latin-1 and friends (detected)."""

from __future__ import annotations

from charset_normalizer import from_bytes

from errors import DocumentTooLarge, UnreadableDocument
from index.formats.base import LoadedText, LoadLimits

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_MAX_BYTES_PER_CHAR = 4  # UTF-8 and UTF-32 at worst


def normalize_text(text: str) -> str:
    """One newline convention and no byte-order mark; everything else is kept as it is."""
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def decode_text(data: bytes, what: str = "the file", max_chars: int | None = None) -> str:
    """Decodes bytes in any common encoding (detected), or raises UnreadableDocument.

    With `max_chars`, bytes that cannot decode to fewer characters are refused (DocumentTooLarge)
    before any decoding.
    """
    if max_chars is not None and len(data) > _MAX_BYTES_PER_CHAR * max_chars:
        raise DocumentTooLarge(
            f"{what} is {len(data):,} bytes: more than the limit of {max_chars:,} characters of text"
        )
    if not data.strip():
        raise UnreadableDocument(f"{what} is empty")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(normalize_text(data.decode(encoding)), what)
            except UnicodeDecodeError:
                raise UnreadableDocument(
                    f"{what} starts with a {encoding} byte-order mark but is not {encoding}"
                ) from None
    if b"\x00" in data:  # no text has NUL characters, but UTF-16 has NUL bytes
        utf16 = _utf16_without_bom(data)
        if utf16 is None:
            raise UnreadableDocument(f"{what} is binary data, not text")
        return _checked(normalize_text(utf16), what)
    try:
        return _checked(normalize_text(data.decode("utf-8")), what)
    except UnicodeDecodeError:
        pass
    if _control_byte_ratio(data) > 0.05:  # no 8-bit or CJK text encoding uses these bytes for text
        raise UnreadableDocument(f"{what} is binary data, not text")
    best = _detect(data)
    if best is None:
        raise UnreadableDocument(f"{what} is not text in any common encoding")
    return _checked(normalize_text(best), what)


def _detect(data: bytes) -> str | None:
    """The text charset-normalizer finds most plausible. Short Western texts fit several 8-bit code
    pages equally well (é, ü and ß read the same in cp1250 and cp1252, à does not); among equally
    plausible decodings, Windows-1252 (a superset of Latin-1's printable characters) wins."""
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        tied = match.chaos <= best.chaos + 0.01 and match.coherence >= best.coherence - 0.1
        if tied and "cp1252" in match.could_be_from_charset:
            return str(match)
    return str(best)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: mostly-ASCII text has a NUL in every other byte."""
    if len(data) % 2:
        return None
    sample = data[:20_000]
    for encoding, zeros in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
        if zeros.count(0) >= 0.9 * len(zeros):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _checked(text: str, what: str) -> str:
    if _control_ratio(text) > 0.05:
        raise UnreadableDocument(f"{what} is binary data, not text")
    return text


_CONTROL_BYTES = bytes(b for b in range(32) if chr(b) not in "\t\n\r\f\x1b") + b"\x7f"


def _control_byte_ratio(data: bytes) -> float:
    sample = data[:100_000]
    return (len(sample) - len(sample.translate(None, _CONTROL_BYTES))) / len(sample)


def _control_ratio(text: str) -> float:
    """Share of control characters (other than tab, newline, form feed) in the first 100,000 characters."""
    if not text:
        return 0.0
    sample = text[:100_000]
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f") or 0x7F <= ord(ch) < 0xA0)
    return bad / len(sample)


def load_plain_text(data: bytes, limits: LoadLimits) -> LoadedText:
    return LoadedText(text=decode_text(data, max_chars=limits.max_chars), content_type="text/plain")
