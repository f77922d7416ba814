"""Folder ingest over fake models: every file gets an outcome, one bad file never stops the rest."""

from __future__ import annotations

from pathlib import Path

from qa.ingest_folder import ingest_paths
from qa.pipeline import Pipeline


def test_every_file_gets_an_outcome(pipeline: Pipeline, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "notes").mkdir(parents=True)
    (docs / "a.txt").write_text("The river through Kyiv is the Dnipro.", encoding="utf-8")
    (docs / "notes" / "b.md").write_text("# Notes\n\nThe mayor is Vitali Klitschko.\n", encoding="utf-8")
    (docs / "empty.txt").write_text("   \n", encoding="utf-8")
    (docs / "tool.exe").write_bytes(b"\x00\x01")
    (docs / ".hidden.txt").write_text("secret", encoding="utf-8")

    first = ingest_paths(pipeline, [docs, tmp_path / "missing"])
    counts = first.counts()
    assert (counts["added"], counts["failed"], counts["unchanged"]) == (2, 2, 0)  # empty.txt and the missing path
    assert {Path(o.path).name for o in first.of("skipped")} == {"tool.exe", ".hidden.txt"}
    assert {o.doc_id for o in first.of("added")} == {d.id for d in pipeline.list_documents()}

    (docs / "a.txt").write_text("The river through Kyiv is the Dnipro, Europe's fourth longest.", encoding="utf-8")
    again = ingest_paths(pipeline, [docs], exclude=["empty.txt"])
    assert (again.counts()["replaced"], again.counts()["unchanged"], again.counts()["failed"]) == (1, 1, 0)
    assert pipeline.count_documents() == 2
