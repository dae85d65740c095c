"""The import structure of the three packages: layers point one way and nothing imports in a loop.

The write model (``eventstore``) must stay free of I/O and of its readers, so that it can be
replayed and tested alone; the read models (``projections``) are built from it and must not
reach out to the outside world (``adapters``). Cycles are forbidden everywhere because a module
in a cycle cannot be understood, tested or imported on its own, and its import order decides
whether a name exists yet.

The imports are read from the source with :mod:`ast`, not by importing: every ``import`` and
``from … import`` statement counts wherever it appears — at module level, inside a function (a
"lazy" import still is a dependency, only a hidden one) and under ``if TYPE_CHECKING:``. A
type-only import is still a dependency of the design: the layer rule is about what a layer may
know of, and an annotation naming an adapter type is knowledge of it; for cycles, counting
them too keeps the rule simple and has needed no contortion so far. Each reported import says
where it sits so a reader can tell these cases apart.

An import is an edge to the module it names: ``from a.b import c`` is an edge to ``a.b.c`` when
that is one of our modules (a submodule), otherwise to ``a.b``. Parent packages that Python
initialises on the way are not edges: with them every module that imports a sibling would form
a loop with a package ``__init__`` that re-exports it. A package's ``__init__`` importing its
own submodules is an ordinary edge.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Our packages from the innermost layer outwards: a module may import its own layer and the
#: layers before it, never one after it.
LAYERS = ("eventstore", "projections", "adapters")


@dataclass(frozen=True)
class Import:
    """One import statement's edge from ``source`` to ``target`` (both module names)."""

    source: str
    target: str
    path: str
    line: int
    statement: str
    where: str

    def describe(self) -> str:
        return f"{self.path}:{self.line}: {self.statement}  ({self.where})"


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of ``packages`` under ``root`` by dotted name (``__init__`` as the package)."""
    found: dict[str, Path] = {}
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            parts = file.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = file
    return found


class _ImportVisitor(ast.NodeVisitor):
    """Collects every import statement with where it sits (function, ``TYPE_CHECKING`` block)."""

    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, str]] = []
        self._scopes: list[str] = []
        self._type_checking = 0

    def _where(self) -> str:
        parts = []
        if self._scopes:
            parts.append(f"inside {'.'.join(self._scopes)}")
        if self._type_checking:
            parts.append("under TYPE_CHECKING")
        return ", ".join(parts) or "module level"

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self._scopes.append(node.name)
        self.generic_visit(node)
        self._scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scoped(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node)

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        guarded = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        if not guarded:
            self.generic_visit(node)
            return
        self._type_checking += 1
        for child in node.body:
            self.visit(child)
        self._type_checking -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self._where()))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self._where()))


def _ours(name: str, modules: Mapping[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of our modules, if any."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a ``from`` statement reads from, with relative levels resolved."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, file: Path, modules: Mapping[str, Path], root: Path) -> list[Import]:
    """The edges from ``module`` to our other modules, one per imported module per statement."""
    visitor = _ImportVisitor()
    visitor.visit(ast.parse(file.read_text(encoding="utf-8"), str(file)))
    is_package = file.name == "__init__.py"
    edges: list[Import] = []
    for node, where in visitor.found:
        if isinstance(node, ast.Import):
            targets = [_ours(alias.name, modules) for alias in node.names]
        else:
            base = _absolute(node, module, is_package)
            targets = [
                f"{base}.{alias.name}"
                if f"{base}.{alias.name}" in modules
                else _ours(base, modules)
                for alias in node.names
            ]
        for target in dict.fromkeys(t for t in targets if t is not None and t != module):
            edges.append(
                Import(
                    module,
                    target,
                    file.relative_to(root).as_posix(),
                    node.lineno,
                    ast.unparse(node),
                    where,
                )
            )
    return edges


@cache
def all_imports() -> tuple[Import, ...]:
    modules = module_files(ROOT, LAYERS)
    return tuple(
        edge for name, file in modules.items() for edge in imports_of(name, file, modules, ROOT)
    )


def layer_violations(edges: Iterable[Import]) -> list[Import]:
    """The imports that point from a layer to one further out."""

    def layer(module: str) -> int:
        return LAYERS.index(module.split(".")[0])

    return [e for e in edges if layer(e.target) > layer(e.source)]


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit to hit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, ())))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def _shortest_cycle(start: str, graph: Mapping[str, Iterable[str]], within: set[str]) -> list[str]:
    """The shortest path ``start → … → start`` inside one component (breadth first)."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for succ in sorted(graph.get(node, ())):
            if succ not in within:
                continue
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if succ not in came_from:
                came_from[succ] = node
                queue.append(succ)
    raise AssertionError(f"{start} is in a component but on no cycle")


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One shortest cycle through every module that is on any cycle, without repeats.

    A component may hold several loops; listing a loop for each of its modules shows all the
    imports to cut, where the component's member list alone would not say which ones they are.
    """
    found: dict[tuple[str, ...], list[str]] = {}
    for component in strongly_connected(graph):
        members = set(component)
        if len(component) == 1 and component[0] not in graph.get(component[0], ()):
            continue
        for start in component:
            loop = _shortest_cycle(start, graph, members)
            ring = loop[:-1]
            first = ring.index(min(ring))
            canonical = (*ring[first:], *ring[:first])
            found.setdefault(canonical, [*canonical, canonical[0]])
    return sorted(found.values())


def graph_of(edges: Iterable[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    return graph


def describe_cycle(loop: list[str], edges: Iterable[Import]) -> str:
    """``a → b → a`` followed by the statement behind each arrow."""
    by_pair: dict[tuple[str, str], Import] = {}
    for e in edges:
        by_pair.setdefault((e.source, e.target), e)
    lines = [" → ".join(loop)]
    lines += [f"      {by_pair[pair].describe()}" for pair in pairwise(loop)]
    return "\n".join(lines)


# --- the rules ----------------------------------------------------------------------------


def test_the_packages_are_read() -> None:
    """Guards the guard: an empty or misread graph would make both rules pass vacuously."""
    modules = module_files(ROOT, LAYERS)
    assert {m.split(".")[0] for m in modules} == set(LAYERS)
    pairs = {(e.source, e.target) for e in all_imports()}
    assert ("eventstore.schema.structure", "eventstore.schema.declare") in pairs
    assert ("projections.runtime", "eventstore.log") in pairs
    assert {source.split(".")[0] for source, _ in pairs} == set(LAYERS)


def test_imports_point_only_inwards() -> None:
    bad = layer_violations(all_imports())
    if bad:
        pytest.fail(
            f"{len(bad)} import(s) point outwards (allowed: "
            + " → ".join(reversed(LAYERS))
            + " only):\n"
            + "\n".join(f"  - {e.source} imports {e.target}\n      {e.describe()}" for e in bad),
            pytrace=False,
        )


@pytest.mark.parametrize("package", LAYERS)
def test_no_import_cycles(package: str) -> None:
    """Each package is checked on its own so one package's loop does not mask another's."""
    edges = all_imports()
    mine = [
        loop for loop in cycles(graph_of(edges)) if any(m.split(".")[0] == package for m in loop)
    ]
    if mine:
        pytest.fail(
            f"{len(mine)} import cycle(s) through {package}:\n"
            + "\n".join(f"  - {describe_cycle(loop, edges)}" for loop in mine),
            pytrace=False,
        )


# --- the analysis itself, on made-up sources ---------------------------------------------


def _write(root: Path, files: Mapping[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return module_files(root, {name.split("/")[0] for name in files})


def test_every_kind_of_import_is_an_edge_to_the_named_module(tmp_path: Path) -> None:
    modules = _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import sub\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/a.py": (
                "from typing import TYPE_CHECKING\n"
                "from . import b\n"
                "from .b import name\n"
                "from .. import c\n"
                "import pkg.d as d\n"
                "if TYPE_CHECKING:\n"
                "    from pkg.e import Thing\n"
                "def later():\n"
                "    from pkg.sub import f\n"
            ),
            "pkg/sub/b.py": "",
            "pkg/sub/f.py": "",
            "pkg/c.py": "",
            "pkg/d.py": "",
            "pkg/e.py": "",
        },
    )
    edges = imports_of("pkg.sub.a", modules["pkg.sub.a"], modules, tmp_path)
    assert [(e.target, e.where) for e in edges] == [
        ("pkg.sub.b", "module level"),
        ("pkg.sub.b", "module level"),
        ("pkg.c", "module level"),
        ("pkg.d", "module level"),
        ("pkg.e", "under TYPE_CHECKING"),
        ("pkg.sub.f", "inside later"),
    ]
    init = imports_of("pkg", modules["pkg"], modules, tmp_path)
    assert [e.target for e in init] == ["pkg.sub"]


def test_cycles_are_found_and_reported_as_chains() -> None:
    graph = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a", "d"},
        "d": {"d"},
        "e": {"a"},
        "x": {"y"},
        "y": {"x", "z"},
        "z": {"x"},
    }
    assert cycles(graph) == [
        ["a", "b", "c", "a"],
        ["d", "d"],
        ["x", "y", "x"],
        ["x", "y", "z", "x"],
    ]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_package_imports_first_in_a_fresh_interpreter() -> None:
    """A package whose ``__init__`` re-exports a module that imports the package back imports
    fine after something else loaded that module, and fails when it is imported first. The
    graph above leaves packages' own ``__init__`` out (counting it would make every re-export a
    cycle), so each package is imported on its own here, first thing in a new interpreter."""
    packages = sorted(
        ".".join(path.parent.relative_to(ROOT).parts)
        for layer in LAYERS
        for path in (ROOT / layer).rglob("__init__.py")
    )
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    failures = []
    for package in packages:
        done = subprocess.run(
            [sys.executable, "-c", script, package],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode:
            failures.append(f"{package}: {done.stderr.strip().splitlines()[-1]}")
    assert not failures, "\n".join(failures)
