"""Zip archives (DOCX and other Office formats), unpacked with a running byte limit.

A zip bomb declares small sizes and inflates to huge ones, and the sizes an archive declares are
whatever its author wrote. So nothing here trusts them: every entry is inflated in small steps, and
the bytes actually produced are counted against the limits (total size, ratio to the file's size)
as they come. Only stored and deflated entries are read (the only two the Office Open XML packaging
standard allows); bzip2 and LZMA entries, which `zipfile` inflates without a bound per read, are refused.
Callers get the verified bytes and open the document from a repacked copy of exactly those.
"""

from __future__ import annotations

import copy
import io
import zipfile
import zlib

from errors import DocumentTooLarge, UnreadableDocument
from index.formats.base import LoadLimits

_STEP = 64 * 1024  # bytes inflated per read
_ALLOWED = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_RATIO_FLOOR = 1024 * 1024  # small archives may be highly compressed (XML is)


def unpack_zip(data: bytes, limits: LoadLimits, what: str = "the archive") -> dict[str, bytes]:
    """Every file entry's bytes, by name. DocumentTooLarge as soon as the bytes inflated so far exceed
    the limits (whatever the archive declares); UnreadableDocument for a damaged or non-zip file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as error:
        raise UnreadableDocument(f"{what} is not a valid zip archive ({error})") from None
    entries = [entry for entry in archive.infolist() if not entry.is_dir()]
    if len(entries) > limits.max_archive_entries:
        raise DocumentTooLarge(f"{what} has {len(entries):,} entries, over the limit of {limits.max_archive_entries:,}")
    budget = _Budget(limits, len(data), what)
    unpacked: dict[str, bytes] = {}
    for entry in entries:
        if entry.compress_type not in _ALLOWED:
            raise UnreadableDocument(
                f"{what} uses compression method {entry.compress_type} for {entry.filename!r};"
                " only stored and deflate entries are read"
            )
        unpacked[entry.filename] = _read_entry(archive, entry, budget, what)
    return unpacked


def repack_zip(entries: dict[str, bytes]) -> bytes:
    """An uncompressed zip of `entries`: what a library that re-reads the archive is handed, so it
    reads only bytes that were counted."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


class _Budget:
    """The bytes inflated so far, checked against the total-size and compression-ratio limits."""

    def __init__(self, limits: LoadLimits, packed: int, what: str) -> None:
        self.limits = limits
        self.packed = max(packed, 1)
        self.what = what
        self.used = 0

    def remaining(self) -> int:
        return self.limits.max_unpacked_bytes - self.used

    def add(self, count: int) -> None:
        self.used += count
        if self.used > self.limits.max_unpacked_bytes:
            raise DocumentTooLarge(
                f"{self.what} unpacks to more than the limit of {self.limits.max_unpacked_bytes:,} bytes (a zip bomb?)"
            )
        ratio = self.used / self.packed
        if ratio > self.limits.max_compression_ratio and self.used > _RATIO_FLOOR:
            raise DocumentTooLarge(
                f"{self.what} unpacks more than {self.limits.max_compression_ratio:,.0f} times larger than it is"
                " packed (a zip bomb?)"
            )


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: _Budget, what: str) -> bytes:
    # zipfile stops an entry at its `file_size`: give it our remaining budget (+1, to notice going
    # over) instead of the declared size, so the size that counts is the one actually inflated. Its
    # CRC is checked here, after the sizes (zipfile would check it when our budget runs out).
    bounded = copy.copy(entry)
    bounded.file_size = budget.remaining() + 1
    del bounded.CRC
    parts: list[bytes] = []
    try:
        with archive.open(bounded) as stream:
            while chunk := stream.read(_STEP):
                budget.add(len(chunk))
                parts.append(chunk)
    except DocumentTooLarge:
        raise
    except Exception as error:  # noqa: BLE001 - BadZipFile, zlib.error, EOFError ... on damaged entries
        raise UnreadableDocument(f"{what} has a damaged entry {entry.filename!r} ({error})") from None
    content = b"".join(parts)
    if len(content) != entry.file_size:
        raise UnreadableDocument(
            f"{what}: entry {entry.filename!r} declares {entry.file_size:,} bytes but holds {len(content):,}"
        )
    if zlib.crc32(content) != entry.CRC:
        raise UnreadableDocument(f"{what} has a damaged entry {entry.filename!r} (bad CRC-32)")
    return content
