"""Finding the files to ingest under folders, with include/exclude globs, and naming them stably.

Each file found gets a *key*: the name of the folder it was found under followed by its path inside
that folder (`docs/reports/q3.pdf` for `spanqa ingest ~/work/docs`), so the key, and the document id
derived from it, stay the same however the folder is named on the command line (relative, absolute,
from another working directory). A file named directly gets its parent folder's name
(`docs/q3.pdf`), the same key a top-level file gets when its folder is ingested.

Globs (case-insensitive; `*` also matches `/`): a pattern without a `/` matches the file's name or
the name of any folder on its path (`*.pdf`, `drafts`); a pattern with a `/` matches the path inside
the ingested folder or a folder on it (`reports/2024/*`, `**/old/*`). Hidden files and folders (names
starting with a dot) are skipped, as are files no loader reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class SourceFile:
    path: Path  # where the file is
    key: str  # the stable name the document is stored under (its `source`)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class Discovery:
    files: list[SourceFile]
    skipped: list[Skipped]
    missing: list[str]  # paths given that do not exist


def discover(
    paths: Sequence[Path],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    supported: Callable[[str], bool],
) -> Discovery:
    """The files to ingest under `paths` (folders recursively, in sorted order; files as given),
    the ones skipped with the reason, and the paths that do not exist. `supported(name)` says
    whether a loader reads a file name. Each file is listed once, however many paths reach it."""
    found = Discovery(files=[], skipped=[], missing=[])
    seen: set[Path] = set()

    def add(path: Path, key: str) -> None:
        real = path.resolve()
        if real not in seen:
            seen.add(real)
            found.files.append(SourceFile(path, key))

    for root in paths:
        if root.is_dir():
            _walk(root, include, exclude, supported, found, add)
        elif root.is_file():
            if supported(root.name):
                add(root, _join(root.resolve().parent.name, root.name))
            else:
                found.skipped.append(Skipped(str(root), f"unsupported type {_suffix(root.name)}"))
        else:
            found.missing.append(str(root))
    return found


def _walk(
    root: Path,
    include: Sequence[str],
    exclude: Sequence[str],
    supported: Callable[[str], bool],
    found: Discovery,
    add: Callable[[Path, str], None],
) -> None:
    root_name = root.resolve().name
    for folder, dirnames, filenames in os.walk(root):
        here = Path(folder)
        inside = PurePosixPath(here.relative_to(root).as_posix())
        kept = []
        for name in sorted(dirnames):
            relative = inside / name
            if name.startswith("."):
                found.skipped.append(Skipped(f"{here / name}{os.sep}", "hidden folder"))
            elif (pattern := _first_match(relative, exclude)) is not None:
                found.skipped.append(Skipped(f"{here / name}{os.sep}", f"excluded by {pattern!r}"))
            else:
                kept.append(name)
        dirnames[:] = kept  # os.walk descends only into these
        for name in sorted(filenames):
            path = here / name
            relative = inside / name
            if name.startswith("."):
                reason = "hidden file"
            elif (pattern := _first_match(relative, exclude)) is not None:
                reason = f"excluded by {pattern!r}"
            elif include and _first_match(relative, include) is None:
                reason = "not matched by --include"
            elif not supported(name):
                reason = f"unsupported type {_suffix(name)}"
            elif not path.is_file():
                reason = "not a regular file"
            else:
                add(path, _join(root_name, relative.as_posix()))
                continue
            found.skipped.append(Skipped(str(path), reason))


def matches(relative: PurePosixPath, pattern: str) -> bool:
    """Whether the glob `pattern` matches the path `relative` (inside an ingested folder)."""
    pattern = pattern.strip().lower()
    path = relative.as_posix().lower()
    if "/" not in pattern.rstrip("/"):
        pattern = pattern.rstrip("/")
        return any(fnmatchcase(part, pattern) for part in PurePosixPath(path).parts)
    pattern = pattern.strip("/")
    candidates = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]  # the folders on the path, and the path
    return any(fnmatchcase(prefix, candidate) for prefix in prefixes for candidate in candidates)


def _first_match(relative: PurePosixPath, patterns: Sequence[str]) -> str | None:
    return next((pattern for pattern in patterns if matches(relative, pattern)), None)


def _join(root_name: str, relative: str) -> str:
    return f"{root_name}/{relative}" if root_name else relative


def _suffix(name: str) -> str:
    return Path(name).suffix.lower() or "(no extension)"
