"""The CLI over fake models (fast): stored text is printed as text, never as Rich markup or
terminal control sequences (issue 17, item 11), and the commands keep their exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import common
from cli.app import app
from qa.pipeline import NewDocument, Pipeline
from tests.fakes import fake_pipeline

TITLE = "[/x] Budget [bold]memo"
TEXT = (
    "Budget memo.\n"
    "\x1b[31mRed alert\x1b[0m and a bell\x07 and a carriage\rreturn.\n"
    "The national security adviser is Jake Sullivan, who spoke on Friday.\n"
)
QUESTION = "Who is the national security adviser?"

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory holding one document with markup in its title and control characters in
    its text; every CLI command in the test opens a fake-model pipeline over it."""
    data = tmp_path / "data"

    def make(read_only: bool = False) -> Pipeline:
        return fake_pipeline(data, memory=False)

    pipeline = make()
    try:
        pipeline.ingest(NewDocument(text=TEXT, title=TITLE, id="memo"))
    finally:
        pipeline.close()
    monkeypatch.setattr(common, "make_pipeline", make)
    return data


def test_docs_list_prints_a_title_with_markup_as_text(data_dir: Path) -> None:
    result = runner.invoke(app, ["docs", "list"])
    assert result.exit_code == 0, result.output
    assert "[/x]" in result.output and "[bold]" in result.output


def test_docs_show_prints_no_control_characters(data_dir: Path) -> None:
    result = runner.invoke(app, ["docs", "show", "memo"])
    assert result.exit_code == 0, result.output
    assert TITLE in result.output
    assert not any(ch in result.output for ch in "\x1b\x07\r")
    assert "\\x1b[31mRed alert" in result.output and "bell\\x07" in result.output
    assert "Jake Sullivan" in result.output


def test_ask_prints_a_source_title_with_markup_as_text(data_dir: Path) -> None:
    result = runner.invoke(app, ["ask", QUESTION])
    assert result.exit_code == 0, result.output
    assert "[/x] Budget [bold]memo" in result.output
    assert "\x1b[31m" not in result.output


def test_ask_json_answers_slice_the_stored_text(data_dir: Path) -> None:
    result = runner.invoke(app, ["ask", QUESTION, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["answers"], body
    for answer in body["answers"]:
        assert TEXT[answer["start"] : answer["end"]] == answer["text"]


def test_errors_quote_user_input_as_text(data_dir: Path) -> None:
    result = runner.invoke(app, ["docs", "show", "[/nope]"])
    assert result.exit_code == 1
    assert "[/nope]" in result.output
    bad = runner.invoke(app, ["ask", "Who?", "--retrieval", "magic"])
    assert bad.exit_code == 2 and "dense, bm25 or hybrid" in bad.output


def test_docs_delete_then_list_is_empty(data_dir: Path) -> None:
    assert runner.invoke(app, ["docs", "delete", "memo"]).exit_code == 0
    listed = runner.invoke(app, ["docs", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output) == []
    assert runner.invoke(app, ["docs", "delete", "memo"]).exit_code == 1
