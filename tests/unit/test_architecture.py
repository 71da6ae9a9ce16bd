"""The shape of the package: no import cycle, no oversized module, lower layers below the agent.

The import graph comes from tools/import_graph.py (parsed with `ast`; nothing is imported).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

MAX_LINES = 400

# The layers below the agent: they must not know the agent's modules, not even for type hints.
LOWER_LAYERS = (
    "voxagent.client",
    "voxagent.realtime",
    "voxagent.serve",
    "voxagent.audio",
    "voxagent.conversation",
    "voxagent.tools",
)
AGENT_MODULES = (
    "voxagent.agent",
    "voxagent.loop",
    "voxagent.live",
    "voxagent.cli",
    "voxagent.web",
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def import_graph() -> ModuleType:
    path = ROOT / "tools" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_module_level_imports_form_no_cycle(import_graph: ModuleType) -> None:
    graph = import_graph.build(ROOT)
    cycles = [" -> ".join([c[0].source, *(e.target for e in c)]) for c in graph.cycles()]
    assert cycles == []


def test_no_function_level_import_dodges_a_cycle(import_graph: ModuleType) -> None:
    """An import inside a function may keep a heavy dependency lazy, never hide a cycle."""
    graph = import_graph.build(ROOT)
    closing = [f"{e.source} -> {e.target}" for e in graph.cycle_closing_function_imports()]
    assert closing == []


def test_the_script_reports_a_cycle_and_exits_1(
    import_graph: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check itself can fail: a package whose `__init__` runs a module that imports it back."""
    package = tmp_path / "voxagent"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from voxagent.sub.a import A\n")
    (package / "sub" / "a.py").write_text("from voxagent.b import B\nA = 1\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from voxagent.sub.c import C\n"  # runs voxagent/sub/__init__.py first: the cycle
        "if TYPE_CHECKING:\n    from voxagent.sub.a import A\n"
        "def f():\n    from voxagent.sub.a import A  # lazy: only to be counted apart\n"
        "B = 2\n"
    )
    (package / "sub" / "c.py").write_text("C = 3\n")
    assert import_graph.main([], root=tmp_path) == 1
    out = capsys.readouterr().out
    assert "voxagent.b -> voxagent.sub (its package __init__ runs first)" in out
    graph = import_graph.build(tmp_path)
    kinds = {(e.target, e.kind) for e in graph.edges if e.source == "voxagent.b"}
    assert ("voxagent.sub.a", "type_checking") in kinds
    assert ("voxagent.sub.a", "function") in kinds
    (package / "sub" / "__init__.py").write_text("")
    assert import_graph.main([], root=tmp_path) == 0


def test_no_module_is_over_the_line_limit(import_graph: ModuleType) -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in import_graph.module_files(ROOT).values()
    }
    oversized = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert oversized == {}


def test_lower_layers_never_import_the_agent(import_graph: ModuleType) -> None:
    graph = import_graph.build(ROOT)
    found = [
        f"{e.source} imports {e.target} ({e.kind}, line {e.line})"
        for e in graph.importers_of(LOWER_LAYERS, AGENT_MODULES)
    ]
    assert found == []
