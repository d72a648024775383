"""The layers of docs/architecture.md hold: no module imports a layer above its own,
the runtime imports have no cycle, and each third-party seam stays in its package.

Every import counts for the layers, including those inside functions and under
TYPE_CHECKING; only module-level runtime imports count for cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fetcher"

# Lowest first. A module may import its own layer only inside its own package.
LAYERS: list[tuple[str, ...]] = [
    ("fetcher.secrets", "fetcher._version"),
    ("fetcher.errors", "fetcher.types", "fetcher.text", "fetcher.failpoints"),
    ("fetcher.config", "fetcher.journal"),
    ("fetcher.transfer",),
    ("fetcher.ledger",),
    ("fetcher.context",),
    ("fetcher.sources",),
    ("fetcher.spec", "fetcher.emulator"),
    ("fetcher.reconcile",),
    ("fetcher.ops",),
    ("fetcher.display", "fetcher.render"),
    ("fetcher.cli",),
    ("fetcher.__main__", "fetcher"),
]
SEAMS = {"requests": "fetcher.transfer", "sqlalchemy": "fetcher.ledger",
         "alembic": "fetcher.ledger", "typer": "fetcher.cli"}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    runtime: bool  # at module level and not under TYPE_CHECKING


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[Import]:
    name = module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    checking = {id(node) for stmt in ast.walk(tree) if isinstance(stmt, ast.If)
                and "TYPE_CHECKING" in ast.unparse(stmt.test)
                for node in ast.walk(stmt)}
    top = {id(stmt) for stmt in tree.body}
    for node in ast.walk(tree):
        runtime = id(node) in top and id(node) not in checking
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno, runtime)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            for alias in node.names:
                full = f"{base}.{alias.name}"
                target = full if _is_module(full) else base
                yield Import(name, target, node.lineno, runtime)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer_of(name: str) -> tuple[int, str]:
    """(layer index, the package prefix that placed it)."""
    best: tuple[int, str] | None = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (
                    best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    assert best is not None, f"{name} is in no layer of LAYERS"
    return best


ALL = [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in imports_of(path)]
OURS = [imp for imp in ALL if imp.target == "fetcher" or imp.target.startswith("fetcher.")]


def test_every_module_has_a_layer() -> None:
    names = {module_name(p) for p in PACKAGE.rglob("*.py")}
    assert [] == [n for n in sorted(names) if not any(
        n == p or n.startswith(p + ".") for layer in LAYERS for p in layer)]


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for imp in OURS:
        (mine, my_package), (theirs, their_package) = layer_of(imp.source), layer_of(imp.target)
        if theirs > mine or (theirs == mine and my_package != their_package):
            upward.append(f"{imp.source}:{imp.line} imports {imp.target}")
    assert [] == upward


def test_runtime_imports_have_no_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for imp in OURS:
        if imp.runtime and imp.source != imp.target:
            graph.setdefault(imp.source, set()).add(imp.target)
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert [] == cycles


@pytest.mark.parametrize("library", sorted(SEAMS))
def test_a_third_party_seam_stays_in_its_package(library: str) -> None:
    home = SEAMS[library]
    outside = sorted({f"{imp.source}:{imp.line}" for imp in ALL
                      if imp.target.split(".")[0] == library
                      and not (imp.source == home or imp.source.startswith(home + "."))})
    assert [] == outside
