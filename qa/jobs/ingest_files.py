"""One batch of a job's files ingested together: each file read and loaded on its own (a broken file
fails alone), then all the documents embedded and stored by one `Pipeline.ingest_many` call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from errors import SpanqaError
from index.store.jobs import FileResult, JobFile

if TYPE_CHECKING:
    from qa.pipeline import NewDocument, Pipeline


def ingest_files(
    pipeline: Pipeline, job_id: str, files: Sequence[JobFile], metadata: Mapping[str, Any]
) -> list[FileResult]:
    """A result per file, in order; each file's bytes read from the store in turn. Errors of the store
    itself propagate (nothing of the batch is stored)."""
    results: dict[int, FileResult] = {}
    loaded: list[tuple[JobFile, NewDocument]] = []
    for file in files:
        data = pipeline.jobs.read_file(job_id, file.index)
        if data is None:  # its job was cancelled meanwhile
            results[file.index] = FileResult(file.index, "failed", error="the uploaded file is gone")
            continue
        try:
            document = pipeline.load(data, file.name, metadata=dict(metadata), source=file.name)
        except SpanqaError as error:
            results[file.index] = FileResult(file.index, "failed", error=str(error))
            continue
        except Exception as error:  # noqa: BLE001 - a loader tripping on a hostile file fails that file only
            results[file.index] = FileResult(file.index, "failed", error=f"could not read the file ({error!r})")
            continue
        loaded.append((file, document))
    refused: dict[int, str] = {}

    def on_error(document: NewDocument, error: SpanqaError) -> None:
        refused[id(document)] = str(error)

    stored = iter(pipeline.ingest_many([d for _, d in loaded], batch_size=max(len(loaded), 1), on_error=on_error))
    for file, document in loaded:
        if id(document) in refused:
            results[file.index] = FileResult(file.index, "failed", error=refused[id(document)])
        else:
            result = next(stored)
            results[file.index] = FileResult(file.index, result.status, result.id, result.title, result.chunks)  # type: ignore[arg-type]
    return [results[file.index] for file in files]
