"""Zip archives (DOCX and other Office formats) opened only after their declared sizes are checked.

A zip bomb declares a small compressed size and a huge uncompressed one. Python's `zipfile` never
inflates an entry beyond its declared `file_size`, so checking the declared sizes against the limits
before reading anything bounds the work and memory of extraction.
"""

from __future__ import annotations

import io
import zipfile

from errors import DocumentTooLarge, UnreadableDocument
from index.formats.base import LoadLimits


def open_zip(data: bytes, limits: LoadLimits, what: str = "the archive") -> zipfile.ZipFile:
    """The archive, once its entry count, total uncompressed size and compression ratio are within
    `limits` (DocumentTooLarge otherwise); UnreadableDocument when it is not a zip archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as error:
        raise UnreadableDocument(f"{what} is not a valid zip archive ({error})") from None
    entries = archive.infolist()
    if len(entries) > limits.max_archive_entries:
        raise DocumentTooLarge(f"{what} has {len(entries):,} entries, over the limit of {limits.max_archive_entries:,}")
    unpacked = sum(entry.file_size for entry in entries)
    packed = sum(entry.compress_size for entry in entries)
    if unpacked > limits.max_unpacked_bytes:
        raise DocumentTooLarge(
            f"{what} unpacks to {unpacked:,} bytes, over the limit of {limits.max_unpacked_bytes:,} (a zip bomb?)"
        )
    ratio = unpacked / max(packed, 1)
    if ratio > limits.max_compression_ratio and unpacked > 1024 * 1024:
        raise DocumentTooLarge(
            f"{what} unpacks {ratio:,.0f} times larger than it is packed, over the limit of "
            f"{limits.max_compression_ratio:,.0f} (a zip bomb?)"
        )
    return archive
