"""The house plan, checked on the source: imports point one way, errors -> index -> qa -> api -> cli
(training, when it is its own package, beside qa: it may use qa, qa may not use it), and no module
imports itself back through others (an import circle)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAYERS = {"errors": 0, "index": 1, "qa": 2, "train": 2.5, "api": 3, "cli": 4}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {"errors": REPO / "errors.py"}
    for package in ("index", "qa", "train", "api", "cli"):
        for path in (REPO / package).rglob("*.py") if (REPO / package).is_dir() else ():
            found[_module_name(path)] = path
    return found


def _imports(path: Path, module: str, *, top_level_only: bool) -> set[str]:
    """The project modules `module` imports (at import time only, with `top_level_only`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: -node.level] if path.name != "__init__.py" else module.split(".")
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] in LAYERS}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (`from a.b import c`: a.b.c or a.b)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def test_imports_point_down_the_layers() -> None:
    modules = _sources()
    upward = []
    for module, path in modules.items():
        layer = LAYERS[module.split(".")[0]]
        for name in _imports(path, module, top_level_only=False):
            if LAYERS[name.split(".")[0]] > layer:
                upward.append(f"{module} imports {name}")
    assert upward == []


def test_no_import_circles() -> None:
    """Import-time imports only: an import inside a function runs after both modules loaded."""
    modules = _sources()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {_resolve(name, modules) for name in _imports(path, module, top_level_only=True)}
        graph[module] = {t for t in targets if t and t != module and not module.startswith(t + ".")}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as circle:
        raise AssertionError(f"import circle: {' -> '.join(circle.args[1])}") from None
