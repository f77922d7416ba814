"""`spanqa collections create|list|delete` and the root `--collection` option, in-process with the real models:
documents ingested into a collection are listed, asked and cited there only, never in `default`."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cli import common
from cli.app import app
from qa.settings import get_settings
from tests.conftest import SEED_FILE

PARIS = (
    "The Eiffel Tower stands on the Champ de Mars in Paris. It is 330 metres tall and was completed in 1889 "
    "for the World's Fair. The tower was designed by the engineering company of Gustave Eiffel."
)
ADVISER = "Who is the US national security adviser?"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder, reader) -> Iterator[CliRunner]:
    """A data directory of its own; every command opens a pipeline of the session's real models over it, in the
    collection the command line picked (the root option sets SPANQA_COLLECTION, restored after the test)."""
    from qa.pipeline import Pipeline

    monkeypatch.setenv("SPANQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SPANQA_BACKEND", "torch")
    monkeypatch.setenv("SPANQA_COLLECTION", "default")
    get_settings.cache_clear()
    monkeypatch.setattr(
        common, "make_pipeline", lambda read_only=False: Pipeline(get_settings(), embedder, reader, read_only=read_only)
    )
    yield CliRunner()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str, input: str | None = None, env_collection: str = "default") -> Result:
    """One command, as if in a process of its own (the fixture restores SPANQA_COLLECTION after the test)."""
    os.environ["SPANQA_COLLECTION"] = env_collection
    get_settings.cache_clear()
    return runner.invoke(app, list(args), input=input)


def listed(runner: CliRunner) -> dict[str, dict]:
    result = run(runner, "collections", "list", "--json")
    assert result.exit_code == 0, result.output
    return {c["name"]: c for c in json.loads(result.stdout)}


def doc_ids(runner: CliRunner, *collection: str) -> set[str]:
    result = run(runner, *collection, "docs", "list", "--json")
    assert result.exit_code == 0, result.output
    return {d["id"] for d in json.loads(result.stdout)}


def test_a_collection_is_created_filled_asked_listed_and_deleted_apart_from_default(cli: CliRunner, tmp_path):
    assert set(listed(cli)) == {"default"}
    created = run(cli, "collections", "create", "team-a", "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.stdout) == {"name": "team-a", "documents": 0, "chunks": 0}

    paris = tmp_path / "paris" / "eiffel.txt"
    paris.parent.mkdir()
    paris.write_text(PARIS, encoding="utf-8")
    assert run(cli, "--collection", "team-a", "ingest", str(SEED_FILE.parent)).exit_code == 0
    assert run(cli, "ingest", str(paris.parent)).exit_code == 0

    team_docs, default_docs = doc_ids(cli, "--collection", "team-a"), doc_ids(cli)
    assert len(team_docs) == 1 and len(default_docs) == 1 and not team_docs & default_docs
    counts = listed(cli)
    assert counts["team-a"]["documents"] == 1 and counts["default"]["documents"] == 1
    assert counts["team-a"]["chunks"] > 0

    asked = run(cli, "--collection", "team-a", "ask", ADVISER, "--json")
    assert asked.exit_code == 0, asked.output
    top = json.loads(asked.stdout)["answers"][0]
    assert top["doc_id"] in team_docs
    assert SEED_FILE.read_text(encoding="utf-8")[top["start"] : top["end"]] == top["text"]
    assert "Sullivan" in top["text"]

    in_default = json.loads(run(cli, "ask", ADVISER, "--json").stdout)
    cited = {a["doc_id"] for a in in_default["answers"]} | {p["doc_id"] for p in in_default["passages"]}
    assert cited <= default_docs  # nothing of team-a's answers a question asked in default
    assert all("Sullivan" not in a["text"] for a in in_default["answers"])

    deleted = run(cli, "collections", "delete", "team-a", "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert set(listed(cli)) == {"default"}
    assert doc_ids(cli) == default_docs
    gone = run(cli, "--collection", "team-a", "docs", "list")
    assert gone.exit_code == 2 and "no collection 'team-a'" in gone.stderr
    by_env = run(cli, "ask", ADVISER, env_collection="team-a")
    assert by_env.exit_code == 2 and "no collection 'team-a'" in by_env.stderr


def test_bad_and_unknown_names_are_errors_not_new_collections(cli: CliRunner):
    unknown = run(cli, "--collection", "nope", "ask", ADVISER)
    assert unknown.exit_code == 2
    assert "no collection 'nope'" in unknown.stderr and "spanqa collections create nope" in unknown.stderr
    bad = run(cli, "--collection", "Team A!", "docs", "list")
    assert bad.exit_code == 2 and "Team A!" in bad.stderr
    serve = run(cli, "--collection", "team-b", "serve")
    assert serve.exit_code == 2 and "serves every collection" in serve.stderr
    bad_env = run(cli, "docs", "list", env_collection="Team A")
    assert bad_env.exit_code == 2 and "SPANQA_COLLECTION" in bad_env.stderr and "Team A" in bad_env.stderr
    assert run(cli, "collections", "create", "../etc").exit_code != 0
    assert set(listed(cli)) == {"default"}

    assert run(cli, "collections", "create", "team-b").exit_code == 0
    again = run(cli, "collections", "create", "team-b")
    assert again.exit_code == 1 and "team-b" in again.stderr
    kept = run(cli, "collections", "delete", "team-b", input="n\n")
    assert kept.exit_code == 1 and "team-b" in listed(cli)
    default = run(cli, "collections", "delete", "default", "--yes")
    assert default.exit_code == 1 and "default" in default.stderr
    missing = run(cli, "collections", "delete", "nope", "--yes")
    assert missing.exit_code == 1 and "nope" in missing.stderr
