"""A job's uploads as files: a document as it is, a `.zip` / `.tar.gz` / `.tgz` archive as its entries.

Nothing an archive says is trusted. Sizes are counted against the job's budget (all files together,
and at most `max_compression_ratio` times the archive's packed size) before an entry's bytes are read
(tar) or as they inflate (zip, `index.formats.archive`), so a bomb is refused (DocumentTooLarge)
before anything is written. Entries are never written under their own names (the caller numbers
them), and an entry that is a link, a device, or whose path is absolute or climbs out (`..`) becomes
a failed file of the job, its bytes unread.
"""

from __future__ import annotations

import io
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from errors import DocumentTooLarge, UnreadableDocument
from index.formats.archive import unpack_zip
from index.formats.base import LoadLimits

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
_RATIO_FLOOR = 1024 * 1024  # small archives may be highly compressed
_SKIPPED = re.compile(r"(^|/)(__MACOSX/|\._)")  # macOS resource forks, not documents
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class UnpackLimits:
    max_files: int
    max_bytes: int
    max_compression_ratio: float = 100.0


@dataclass(frozen=True)
class UploadedFile:
    """One file of a job: its bytes, or why it was refused (`data` is None then)."""

    name: str
    data: bytes | None
    error: str | None = None


class JobBudget:
    """Files and bytes used so far by a job's uploads; DocumentTooLarge past the limits."""

    def __init__(self, limits: UnpackLimits) -> None:
        self.limits = limits
        self.files = 0
        self.bytes = 0

    def take(self, size: int, what: str) -> None:
        self.files += 1
        self.bytes += size
        if self.files > self.limits.max_files:
            raise DocumentTooLarge(f"the job holds more than {self.limits.max_files:,} files ({what})")
        if self.bytes > self.limits.max_bytes:
            raise DocumentTooLarge(
                f"the job's files add up to more than {self.limits.max_bytes:,} bytes once unpacked ({what})"
            )

    def remaining_bytes(self) -> int:
        return self.limits.max_bytes - self.bytes


def is_archive(filename: str) -> bool:
    return filename.lower().endswith(ARCHIVE_SUFFIXES)


def display_name(filename: str) -> str:
    """An upload's file name without any directories the client put in it."""
    return PurePosixPath(filename.replace("\\", "/")).name or "upload"


def unpack_upload(filename: str, data: bytes, budget: JobBudget) -> list[UploadedFile]:
    """The files of one upload: itself, or an archive's entries (named `archive/entry`)."""
    name = display_name(filename)
    if not is_archive(name):
        budget.take(len(data), repr(name))
        return [UploadedFile(name, data)]
    try:
        if name.lower().endswith(".zip"):
            return _zip_entries(name, data, budget)
        return _tar_entries(name, data, budget)
    except UnreadableDocument as error:
        return [UploadedFile(name, None, str(error))]


def unsafe_path(entry: str) -> str | None:
    """Why an archive entry's path is refused, or None."""
    path = entry.replace("\\", "/")
    if path.startswith("/") or _DRIVE.match(path):
        return "an absolute path; not read"
    if ".." in path.split("/"):
        return "a path outside the archive; not read"
    if "\x00" in path:
        return "a NUL in its name; not read"
    return None


def _zip_entries(name: str, data: bytes, budget: JobBudget) -> list[UploadedFile]:
    try:
        entries = [e for e in zipfile.ZipFile(io.BytesIO(data)).infolist() if not e.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as error:
        raise UnreadableDocument(f"{name!r} is not a valid zip archive ({error})") from None
    if budget.files + len(entries) > budget.limits.max_files:
        raise DocumentTooLarge(
            f"{name!r} has {len(entries):,} entries; a job holds at most {budget.limits.max_files:,} files"
        )
    limits = LoadLimits(
        max_unpacked_bytes=max(budget.remaining_bytes(), 0),
        max_compression_ratio=budget.limits.max_compression_ratio,
        max_archive_entries=budget.limits.max_files,
    )
    contents = unpack_zip(data, limits, repr(name))  # bombs raise here, before anything is kept
    files = []
    for entry in entries:
        if _SKIPPED.search(entry.filename):
            continue
        mode = entry.external_attr >> 16
        refused = unsafe_path(entry.filename) or (None if not stat.S_IFMT(mode) or stat.S_ISREG(mode) else _kind(mode))
        content = contents.get(entry.filename, b"")
        budget.take(len(content), repr(name))
        files.append(UploadedFile(f"{name}/{entry.filename}", None if refused else content, refused))
    return files


def _kind(mode: int) -> str:
    return "a symbolic link; not read" if stat.S_ISLNK(mode) else "not a regular file; not read"


def _tar_entries(name: str, data: bytes, budget: JobBudget) -> list[UploadedFile]:
    ceiling = max(len(data) * budget.limits.max_compression_ratio, _RATIO_FLOOR)
    declared = 0
    files = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r|*") as archive:
            for member in archive:
                if member.isdir() or _SKIPPED.search(member.name):
                    continue
                declared += member.size  # counted before its bytes are read (or skipped over)
                if declared > ceiling:
                    raise DocumentTooLarge(
                        f"{name!r} unpacks more than {budget.limits.max_compression_ratio:,.0f} times larger"
                        " than it is packed (a bomb?)"
                    )
                refused = unsafe_path(member.name) or (
                    None if member.isreg() else ("a link; not read" if member.issym() or member.islnk() else _kind(0))
                )
                budget.take(member.size if refused is None else 0, repr(name))
                stream = None if refused else archive.extractfile(member)
                content = stream.read() if stream is not None else None
                files.append(UploadedFile(f"{name}/{member.name}", content, refused))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise UnreadableDocument(f"{name!r} is not a readable tar archive ({error})") from None
    return files
