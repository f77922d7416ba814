"""Ingesting folders: every file found is added, replaced, left unchanged, skipped or failed, with the
reason; one broken file never stops the rest. Used by `spanqa ingest` (and `spanqa serve --seed-if-empty`).

Files are read one by one and handed to `Pipeline.ingest_many` as they are read, which embeds and
stores them in batches of `batch_size` documents (one store transaction each, so a crash loses at
most the batch in flight, never part of a document). A document is named by its file's key (see
`index.sources`): an unchanged file is a no-op, a changed one replaces its old version atomically.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from errors import SpanqaError
from index.loaders import is_supported
from index.sources import Discovery, SourceFile, discover
from qa.ingest import NewDocument
from qa.pipeline import Pipeline

STATUSES = ("added", "replaced", "unchanged", "skipped", "failed")


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str  # one of STATUSES
    doc_id: str | None = None
    chunks: int = 0
    reason: str = ""  # why it was skipped or failed


@dataclass
class IngestSummary:
    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, status: str) -> list[FileOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == status]

    def counts(self) -> dict[str, int]:
        return {status: len(self.of(status)) for status in STATUSES}

    def as_dict(self) -> dict[str, object]:
        return {
            "counts": self.counts(),
            "seconds": round(self.seconds, 3),
            **{status: [asdict(outcome) for outcome in self.of(status)] for status in STATUSES},
        }


def ingest_paths(
    pipeline: Pipeline,
    paths: Sequence[Path],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    batch_size: int = 16,
    on_file: Callable[[SourceFile], None] | None = None,
) -> IngestSummary:
    """Finds the files under `paths` and ingests them (see `discover` for globs, keys and skips)."""
    found = find_files(paths, include=include, exclude=exclude)
    return ingest_discovered(pipeline, found, batch_size=batch_size, on_file=on_file)


def find_files(paths: Sequence[Path], *, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Discovery:
    """The files under `paths` that a loader supports, and those skipped or missing (see `discover`)."""
    return discover(paths, include=include, exclude=exclude, supported=is_supported)


def ingest_discovered(
    pipeline: Pipeline,
    found: Discovery,
    *,
    batch_size: int = 16,
    on_file: Callable[[SourceFile], None] | None = None,
) -> IngestSummary:
    """Ingests the files found; `on_file` is called as each one is read (for progress)."""
    started = time.perf_counter()
    summary = IngestSummary()
    summary.outcomes += [FileOutcome(path, "failed", reason="no such file or folder") for path in found.missing]
    summary.outcomes += [FileOutcome(s.path, "skipped", reason=s.reason) for s in found.skipped]
    read: list[tuple[SourceFile, NewDocument]] = []
    refused: dict[int, str] = {}  # id(document) -> why the pipeline refused it

    def documents() -> Iterator[NewDocument]:
        for source in found.files:
            if on_file is not None:
                on_file(source)
            try:
                document = pipeline.load(source.path.read_bytes(), source.path.name, source=source.key)
            except (SpanqaError, OSError) as error:
                summary.outcomes.append(FileOutcome(str(source.path), "failed", reason=_reason(error, source)))
                continue
            read.append((source, document))
            yield document

    def refuse(document: NewDocument, error: SpanqaError) -> None:
        refused[id(document)] = str(error)

    try:
        results = iter(pipeline.ingest_many(documents(), batch_size=batch_size, on_error=refuse))
    finally:
        summary.seconds = time.perf_counter() - started
    for source, document in read:
        if id(document) in refused:
            summary.outcomes.append(FileOutcome(str(source.path), "failed", reason=refused[id(document)]))
        else:
            result = next(results)
            summary.outcomes.append(FileOutcome(str(source.path), result.status, result.id, result.chunks))
    return summary


def _reason(error: Exception, source: SourceFile) -> str:
    """The error's message without the file name it may start with (the outcome names the file)."""
    message = str(error) or type(error).__name__
    prefix = f"{source.path.name!r}: "
    return message[len(prefix) :] if message.startswith(prefix) else message
