"""The import graph of the voxagent package: cycles, TYPE_CHECKING-only edges, layering.

    python tools/import_graph.py              # cycles and the summary; exit 1 on a cycle
    python tools/import_graph.py --edges      # also every TYPE_CHECKING-only edge

Each `.py` file under voxagent/ is parsed with `ast` (nothing is imported). An import counts as
one of three kinds:

- module: runs when the module is imported (top level, also under `try:`, a plain `if` or a class
  body). Only these can form a cycle that breaks at import time, so only these fail the check.
- type_checking: under `if TYPE_CHECKING:` (never runs; reported apart).
- function: inside a function (runs when it is called). Listed when it closes a cycle of module
  imports: such an import either keeps a heavy dependency lazy (then it says so in a
  `# lazy: ...` comment) or dodges a cycle, which the layering should fix instead.

How an import is resolved, as Python would run it:
- `from P import name` is an edge to the submodule `P.name` when there is one; else, when `P` is a
  lazy package (an `_EXPORTS` table, voxagent._lazy), to the module that table names, which the
  package's `__getattr__` imports right then; else to `P` itself.
- Importing `a.b.c` first runs `a/__init__.py` and `a/b/__init__.py`: those are implicit edges
  too (except to the importing module's own parents, which are already running), so a package
  `__init__` that imports its submodules eagerly can close a cycle.

Tests import this file (tests/unit/test_architecture.py); tools/ is not a package.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Kind = Literal["module", "type_checking", "function"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "voxagent"


@dataclass(frozen=True)
class Edge:
    """One import of a voxagent module by another.

    Attributes:
        source: The importing module.
        target: The module that runs because of it.
        line: The import's line in the source module.
        kind: module, type_checking or function (see the module docstring).
        implicit: A parent package's `__init__` that runs first, not the named module.
        lazy_comment: A `# lazy:` comment on the import's line (function-level imports).
    """

    source: str
    target: str
    line: int
    kind: Kind
    implicit: bool = False
    lazy_comment: bool = False


@dataclass
class Graph:
    """Every module under the package and every import edge between them."""

    files: dict[str, Path]
    edges: list[Edge] = field(default_factory=list)
    lazy_packages: set[str] = field(default_factory=set)

    def runtime(self) -> dict[str, set[str]]:
        """Module-level edges only: what runs when a module is imported."""
        return _adjacency(e for e in self.edges if e.kind == "module")

    def cycles(self) -> list[list[Edge]]:
        """One cycle of module-level imports per strongly connected group of modules."""
        return _cycles([e for e in self.edges if e.kind == "module"])

    def cycles_with_type_checking(self) -> list[list[Edge]]:
        """Cycles once TYPE_CHECKING imports count too (explicit imports only; informative).

        A lazy package's own TYPE_CHECKING block only shows its table to type checkers: left out.
        """
        return _cycles(
            [
                e
                for e in self.edges
                if e.kind != "function"
                and not e.implicit
                and not (e.kind == "type_checking" and e.source in self.lazy_packages)
            ]
        )

    def type_checking_only(self) -> list[Edge]:
        """Edges that exist only under `if TYPE_CHECKING:` (no module-level import of it)."""
        runtime = {(e.source, e.target) for e in self.edges if e.kind == "module"}
        seen: set[tuple[str, str]] = set()
        found = []
        for edge in self.edges:
            pair = (edge.source, edge.target)
            if edge.kind == "type_checking" and not edge.implicit and pair not in runtime:
                if pair not in seen:
                    seen.add(pair)
                    found.append(edge)
        return found

    def cycle_closing_function_imports(self) -> list[Edge]:
        """Function-level imports `a -> b` where `b` reaches `a` again, through module-level or
        function-level imports: a cycle that only runs because one side imports late."""
        ran = _adjacency(e for e in self.edges if e.kind != "type_checking" and not e.implicit)
        return [
            e
            for e in self.edges
            if e.kind == "function" and not e.implicit and e.source in _reachable(ran, e.target)
        ]

    def importers_of(self, sources: Iterable[str], targets: Iterable[str]) -> list[Edge]:
        """Explicit imports of any kind from a module under `sources` of one under `targets`.

        Both are package or module names: `voxagent.client` covers `voxagent.client.sse`.
        """
        sources, targets = tuple(sources), tuple(targets)
        return [
            e
            for e in self.edges
            if not e.implicit and _under(e.source, sources) and _under(e.target, targets)
        ]


def _under(module: str, names: Sequence[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in names)


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Module name -> file, for every `.py` file of the package (`a/__init__.py` is `a`)."""
    files = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def _exports(path: Path, tree: ast.Module) -> dict[str, str]:
    """A lazy package's `_EXPORTS` table (name -> module), or {}."""
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id == "_EXPORTS" and value is not None:
            try:
                table = ast.literal_eval(value)
            except ValueError:
                raise SystemExit(f"{path}: _EXPORTS is not a literal table") from None
            return {str(k): str(v) for k, v in table.items()}
    return {}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(body: Iterable[ast.stmt], kind: Kind) -> Iterator[tuple[ast.stmt, Kind]]:
    """Every import statement under `body`, with the kind its position gives it."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, kind
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _walk(node.body, "function")
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk(node.body, "function" if kind == "function" else "type_checking")
            yield from _walk(node.orelse, kind)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _walk([child], kind)
                elif isinstance(child, ast.excepthandler | ast.match_case):
                    yield from _walk(child.body, kind)


def _base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    keep = len(parts) - node.level + (1 if is_package else 0)
    prefix = ".".join(parts[:keep])
    return f"{prefix}.{node.module}" if node.module else prefix


def _lazy_comment(lines: list[str], node: ast.stmt) -> bool:
    """A `# lazy:` comment on the import, or heading the group of imports it belongs to."""
    end = node.end_lineno or node.lineno
    if any("# lazy:" in line for line in lines[node.lineno - 1 : end]):
        return True
    for line in reversed(lines[: node.lineno - 1]):
        text = line.strip()
        if "# lazy:" in text:
            return True
        importish = text.startswith(("from ", "import ", ")")) or text.endswith(",")
        if text and not importish:
            return False
    return False


def build(root: Path = ROOT, package: str = PACKAGE) -> Graph:
    """Parse every module of the package and collect its imports of the package's modules."""
    files = module_files(root, package)
    trees = {
        name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in files.items()
    }
    exports = {name: _exports(files[name], tree) for name, tree in trees.items()}
    graph = Graph(files, lazy_packages={name for name, table in exports.items() if table})

    def known(name: str) -> str | None:
        """The module `name`, or the deepest package above it that exists."""
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    for module, tree in trees.items():
        lines = files[module].read_text(encoding="utf-8").splitlines()
        is_package = files[module].name == "__init__.py"
        own_parents = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        if is_package:
            own_parents.add(module)
        for node, kind in _walk(tree.body, "module"):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [t for a in node.names if (t := known(a.name)) is not None]
            else:
                base = _base(module, is_package, node)
                if base == "__future__" or known(base) is None:
                    continue
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in files:
                        targets.append(sub)
                    elif alias.name in exports.get(base, {}):
                        targets += [base, exports[base][alias.name]]
                    else:
                        targets.append(known(base) or base)
            comment = _lazy_comment(lines, node)
            for target in dict.fromkeys(targets):
                if target == module:
                    continue
                graph.edges.append(Edge(module, target, node.lineno, kind, False, comment))
                parts = target.split(".")
                for i in range(1, len(parts)):
                    parent = ".".join(parts[:i])
                    if parent not in own_parents and parent in files:
                        graph.edges.append(Edge(module, parent, node.lineno, kind, True, comment))
    return graph


def _adjacency(edges: Iterable[Edge]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        graph[edge.source].add(edge.target)
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of two or more modules that all reach each other (the package is small: a
    reachability set per module is cheap enough)."""
    reach = {node: _reachable(graph, node) for node in graph}
    found = set()
    for node, reached in reach.items():
        group = frozenset(m for m in reached if node in reach.get(m, ()))
        if len(group) > 1:
            found.add(group)
    return sorted(sorted(group) for group in found)


def _cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One shortest cycle (as its edges) through the first module of each component."""
    graph = _adjacency(edges)
    first: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        first.setdefault((edge.source, edge.target), edge)
    cycles = []
    for group in _components(graph):
        members = set(group)
        start = group[0]
        came_from: dict[str, str] = {}
        frontier = [start]
        closed_by = None
        while frontier and closed_by is None:
            following = []
            for node in frontier:
                for nxt in sorted(graph[node] & members):
                    if nxt == start:
                        closed_by = node
                        break
                    if nxt not in came_from:
                        came_from[nxt] = node
                        following.append(nxt)
                if closed_by is not None:
                    break
            frontier = following
        assert closed_by is not None
        path = [closed_by]
        while path[-1] != start:
            path.append(came_from[path[-1]])
        path.reverse()
        path.append(start)
        cycles.append([first[(a, b)] for a, b in itertools.pairwise(path)])
    return cycles


def _describe(edge: Edge, files: dict[str, Path], root: Path) -> str:
    where = files[edge.source].relative_to(root)
    how = " (its package __init__ runs first)" if edge.implicit else ""
    return f"{edge.source} -> {edge.target}{how}  [{where}:{edge.line}]"


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    """Print the report; return 1 when module-level imports form a cycle, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", action="store_true", help="list TYPE_CHECKING-only edges")
    parser.add_argument(
        "--unmarked",
        action="store_true",
        help="list function-level imports of voxagent modules with no `# lazy:` comment",
    )
    args = parser.parse_args(argv)
    graph = build(root)
    cycles = graph.cycles()
    print(f"{len(graph.files)} modules, {len(graph.edges)} import edges")
    for cycle in cycles:
        print("\ncycle of module-level imports:")
        for edge in cycle:
            print("  " + _describe(edge, graph.files, root))
    if not cycles:
        print("no cycle among module-level imports")
    typed = graph.cycles_with_type_checking()
    if typed:
        print(f"\n{len(typed)} cycle(s) once TYPE_CHECKING imports count (fine at run time):")
        for cycle in typed:
            print("  for example " + " -> ".join([cycle[0].source, *(e.target for e in cycle)]))
    closing = graph.cycle_closing_function_imports()
    if closing:
        print("\nfunction-level imports on a cycle (they dodge it, or keep a dependency lazy):")
        for edge in closing:
            mark = "" if edge.lazy_comment else "   <- no `# lazy:` comment"
            print("  " + _describe(edge, graph.files, root) + mark)
    only = graph.type_checking_only()
    listed = ":" if args.edges else " (--edges lists them)"
    print(f"\n{len(only)} TYPE_CHECKING-only edges{listed}")
    if args.edges:
        for edge in only:
            print("  " + _describe(edge, graph.files, root))
    unmarked = [
        e for e in graph.edges if e.kind == "function" and not e.implicit and not e.lazy_comment
    ]
    listed = ":" if args.unmarked else " (--unmarked lists them)"
    print(f"{len(unmarked)} function-level import edges without a `# lazy:` comment{listed}")
    if args.unmarked:
        for edge in unmarked:
            print("  " + _describe(edge, graph.files, root))
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
