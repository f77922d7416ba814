"""The `spanqa` command line as a user runs it: ingest, ask (text and --json), docs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SEED_FILE


def _spanqa(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPANQA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", "from cli.app import app; app()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingest_ask_and_docs_through_the_cli(tmp_path):
    data = tmp_path / "data"
    done = _spanqa(data, "ingest", str(SEED_FILE.parent))
    assert done.returncode == 0, done.stderr
    asked = _spanqa(data, "ask", "Who is the US national security adviser?", "--json", "--retrieval", "bm25")
    assert asked.returncode == 0, asked.stderr
    body = json.loads(asked.stdout)
    top = body["answers"][0]
    assert top["text"] == "Jake Sullivan"
    assert SEED_FILE.read_text(encoding="utf-8")[top["start"] : top["end"]] == "Jake Sullivan"
    listed = _spanqa(data, "docs", "list", "--json")
    assert [d["id"] for d in json.loads(listed.stdout)] == [top["doc_id"]]
    none = _spanqa(data, "ask", "What is the boiling point of mercury?")
    assert none.returncode == 0 and "No answer" in none.stdout
    bad = _spanqa(data, "ask", "Who?", "--retrieval", "magic")
    assert bad.returncode == 2 and "dense, bm25 or hybrid" in bad.stderr
    deleted = _spanqa(data, "docs", "delete", top["doc_id"])
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(_spanqa(data, "docs", "list", "--json").stdout) == []
