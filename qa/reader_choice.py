"""Which reader the server loads: the configured one, unless `spanqa reader promote` chose another.

A promotion is recorded in `DATA_DIR/reader.json` (the model folder, when and why it was chosen,
and the record it replaced, so `spanqa reader rollback` can go back one step). The composition
root calls `active_reader(settings.data_dir, settings.reader_model)` when it builds the reader;
a running server therefore picks a promotion up on its next start.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

READER_FILE = "reader.json"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderChoice:
    """One promotion: `path` became the active reader at `promoted_at`, replacing `replaced`."""

    path: str
    promoted_at: str  # ISO 8601, UTC
    replaced: str  # the reader that was active before
    rule: str  # the rule it passed, in words
    scores: dict[str, Any]  # {"dev": {...}, "current": {...}, "candidate": {...}}
    previous: ReaderChoice | None = None  # the record it replaced; None: the configured reader

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["previous"] = self.previous.as_dict() if self.previous else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReaderChoice:
        previous = data.get("previous")
        return cls(
            path=str(data["path"]),
            promoted_at=str(data["promoted_at"]),
            replaced=str(data["replaced"]),
            rule=str(data["rule"]),
            scores=dict(data.get("scores") or {}),
            previous=cls.from_dict(previous) if previous else None,
        )


def choice_file(data_dir: Path) -> Path:
    return Path(data_dir) / READER_FILE


def read_choice(data_dir: Path) -> ReaderChoice | None:
    """The recorded promotion, or None when there is none. An unreadable record is an error
    naming the file (delete it to go back to the configured reader)."""
    path = choice_file(data_dir)
    if not path.is_file():
        return None
    try:
        return ReaderChoice.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{path} is not a valid reader record ({exc}); delete it to use the configured reader"
        ) from exc


def active_reader(data_dir: Path, default: str) -> str:
    """The reader to load: the promoted one when its folder still exists, else `default`."""
    choice = read_choice(data_dir)
    if choice is None:
        return default
    if not Path(choice.path).is_dir():
        log.warning("promoted reader %s (in %s) is gone; using %s", choice.path, choice_file(data_dir), default)
        return default
    return choice.path


def record_choice(data_dir: Path, choice: ReaderChoice) -> Path:
    """Writes the record atomically (a temporary file renamed over the old one)."""
    path = choice_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".reader-", suffix=".tmp", delete=False) as tmp:
        json.dump(choice.as_dict(), tmp, indent=2)
        tmp.write("\n")
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)
    return path


def roll_back(data_dir: Path) -> ReaderChoice | None:
    """Undoes the last promotion: the record it replaced becomes active again (None: the
    configured reader, and the record file is removed). Raises LookupError when there is none."""
    choice = read_choice(data_dir)
    if choice is None:
        raise LookupError(f"no promoted reader in {choice_file(data_dir)}: the configured reader is active")
    if choice.previous is None:
        choice_file(data_dir).unlink()
        return None
    record_choice(data_dir, choice.previous)
    return choice.previous
