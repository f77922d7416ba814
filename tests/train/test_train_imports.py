"""`train` sits above `qa` and `index`: it imports them, they never import it, and its own modules
import each other without a circle (checked on the source)."""

from __future__ import annotations

import ast
from graphlib import TopologicalSorter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The command line registers the training commands; it moves to a `cli/` package on top.
REGISTERS_COMMANDS = {REPO / "qa" / "cli.py"}


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_nothing_below_imports_train():
    below = [p for package in ("index", "qa", "api") for p in (REPO / package).rglob("*.py")]
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in below
        if path not in REGISTERS_COMMANDS
        for name in imported(path)
        if name.split(".")[0] == "train"
    ]
    assert offenders == []


def test_train_modules_import_each_other_without_a_circle():
    graph = {
        f"train.{path.stem}": {name for name in imported(path) if name.startswith("train.")}
        for path in (REPO / "train").glob("*.py")
    }
    assert set(graph) >= {"train.command", "train.loop", "train.report", "train.promote"}
    order = list(TopologicalSorter(graph).static_order())  # raises CycleError on a circle
    assert order.index("train.report") < order.index("train.loop") < order.index("train.command")
