"""The house rules of `triage/` (issue 22), read from the code itself: floors that follow the data, no
import circles, no module over 400 lines, no function over 80 lines, and every package saying in its
docstring what it owns.

Floors, lowest first. A module may import its own package and any package on a lower floor, never a
higher one; imports inside functions count like any other (a deferred import that dodges a circle is
still a circle).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "triage"

#: package (or top-level module) of triage -> floor; the data flows upwards: ingest -> parse -> nlp
#: (detect) -> score -> publish; learn (training, evaluation) stands beside the runtime; app composes
#: the floors for the CLI, the web app and the flows
FLOORS = {
    "secrets": 0,
    "errors": 1,
    "types": 1,
    "progress": 1,
    "localfiles": 1,
    "log": 2,
    "settings": 3,
    "db": 4,
    "privacy": 5,
    "ingest": 6,
    "parse": 7,
    "nlp": 8,
    "score": 9,
    "publish": 10,
    "learn": 11,
    "app": 12,
    "web": 13,
    "cli": 14,
    "__main__": 15,
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ("triage", *path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The triage modules ``name`` imports (anywhere in the file), resolved to modules that exist."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*head, *filter(None, [base])])
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t.startswith("triage") and t != name:
                out.add(t)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, set(mods)) for name, path in mods.items()}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "triage"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), excluding package __init__
    re-exports of their own modules (a package importing its children is not a circle)."""
    def edges(m: str) -> set[str]:
        return {t for t in graph[m] if not (t.startswith(m + ".") or (m.startswith(t + ".") and t in _parents(m)))}

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _parents(m: str) -> set[str]:
    parts = m.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_every_room_has_a_floor() -> None:
    rooms = {_room(m) for m in _modules()} - {"triage"}
    assert rooms <= set(FLOORS), f"rooms without a floor: {sorted(rooms - set(FLOORS))}"


def test_no_import_runs_up_a_floor() -> None:
    graph = _graph()
    upward = sorted(
        f"{m} -> {t}"
        for m, targets in graph.items()
        for t in targets
        if _room(m) != "triage" and _room(t) != "triage" and _room(m) != _room(t)
        and FLOORS[_room(t)] >= FLOORS[_room(m)]
    )
    assert upward == []


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_no_module_over_400_lines() -> None:
    big = {str(p.relative_to(ROOT.parent)): n for p in ROOT.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert big == {}


def test_no_function_over_80_lines() -> None:
    long = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name} ({n} lines)")
    assert sorted(long) == []


@pytest.mark.parametrize("package", sorted(p.parent.name for p in ROOT.glob("*/__init__.py")))
def test_each_package_says_what_it_owns(package: str) -> None:
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8")))
    assert doc, f"triage/{package}/__init__.py has no docstring"
    assert len(doc.splitlines()[0]) <= 120 and doc.splitlines()[0].endswith("."), doc.splitlines()[0]


def test_the_runtime_never_imports_training() -> None:
    """What production loads (the nightly flow's floors) never imports learn/ (torch training, data sets)."""
    graph = _graph()
    seen: set[str] = set()
    todo = [m for m in graph if _room(m) in {"ingest", "parse", "nlp", "score", "publish", "privacy", "db"}]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo += graph[m]
    assert sorted(m for m in seen if _room(m) == "learn") == []


def _report() -> dict[str, list[str]]:  # pragma: no cover - a helper to print the house when planning
    graph = _graph()
    rooms: dict[str, set[str]] = defaultdict(set)
    for m, ts in graph.items():
        rooms[_room(m)] |= {_room(t) for t in ts} - {_room(m)}
    return {k: sorted(v) for k, v in sorted(rooms.items())}
