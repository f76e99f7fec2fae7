"""Layering: the core never imports `agents`, torch or pygame, and no module imports itself back through others."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("xlogo_gym", "agents")


def _modules() -> dict[str, Path]:
    """Every module of both packages by dotted name (a package by the name of its `__init__`)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _targets(node: ast.AST) -> list[str]:
    """The modules an import statement names (`from a import b`: a.b when it is a module, else a)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names]
    return []


def _imports(path: Path, lazy: bool) -> set[str]:
    """What a module imports: at module level (in `if` and `try` blocks too, not under TYPE_CHECKING), or
    with `lazy` anywhere, inside functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if lazy:
        return {t for node in ast.walk(tree) for t in _targets(node)}
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for s in statements:
            found.update(_targets(s))
            if isinstance(s, ast.If) and not (isinstance(s.test, ast.Name) and s.test.id == "TYPE_CHECKING"):
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, ast.Try):
                for block in (s.body, s.orelse, s.finalbody, *(h.body for h in s.handlers)):
                    visit(block)

    visit(tree.body)
    return found


def _graph(lazy: bool) -> dict[str, list[str]]:
    """Module -> the modules of both packages it imports."""
    return {name: sorted(_imports(path, lazy) & MODULES.keys()) for name, path in MODULES.items()}


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The import cycles of a graph (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(component) > 1 or v in graph[v]:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return cycles


def test_the_core_names_no_agents_module() -> None:
    offenders = [f"{name} imports {target}" for name, path in MODULES.items() if name.startswith("xlogo_gym")
                 for target in _imports(path, lazy=True) if target.split(".")[0] == "agents"]
    assert offenders == []


def test_importing_the_core_imports_no_agents_torch_or_pygame() -> None:
    core = sorted(name for name in MODULES if name.startswith("xlogo_gym") and not name.startswith("xlogo_gym.data."))
    script = f"""
import importlib, json, sys
for name in {core!r}:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as err:  # an optional part (the env needs gymnasium)
        if err.name.split(".")[0] in ("xlogo_gym", "agents"):
            raise
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & {{"agents", "torch", "pygame"}})))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_no_import_cycles() -> None:
    assert _cycles(_graph(lazy=False)) == []  # what runs at import time
    assert _cycles(_graph(lazy=True)) == []  # not even through imports inside functions


def test_the_checker_sees_cycles_and_lazy_imports(tmp_path: Path) -> None:
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"], "e": ["e"]}) == [["a", "b", "c"], ["e"]]
    assert "xlogo_gym.task" in _imports(MODULES["xlogo_gym.emulator"], lazy=False)
    lazy = tmp_path / "lazy.py"
    lazy.write_text("import os\n\n\ndef f():\n    from xlogo_gym.task import Task\n")
    assert _imports(lazy, lazy=False) == {"os"} and "xlogo_gym.task" in _imports(lazy, lazy=True)
