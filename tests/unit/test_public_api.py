"""The package's public surface: every exported name resolves, and importing stays light."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import voxagent
from voxagent import events


def test_every_name_in_all_resolves() -> None:
    for name in voxagent.__all__:
        assert getattr(voxagent, name) is not None, name
    assert sorted(dir(voxagent)) == sorted(voxagent.__all__)


def test_the_design_api_shape_is_importable() -> None:
    from voxagent import Agent, RunContext, ToolError, tool  # noqa: F401
    from voxagent.audio import AudioFile, Microphone  # noqa: F401

    assert callable(tool)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        voxagent.Nope  # noqa: B018


def test_every_event_has_a_json_type_name() -> None:
    for name in events.__all__:
        kind = getattr(events, name)
        if isinstance(kind, type) and name not in ("Event",):
            assert kind in events._TYPE_NAMES, name


def test_import_voxagent_loads_no_heavy_modules() -> None:
    code = (
        "import sys, voxagent; heavy = [m for m in ('numpy', 'httpx', 'sounddevice', "
        "'mistral_common', 'pydantic', 'soundfile') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_library_logs_nothing_to_stderr_unless_the_application_configures_logging() -> None:
    import subprocess
    import sys

    code = (
        "import logging, voxagent\n"
        "logging.getLogger('voxagent.tools').error('tool x raised', exc_info=ValueError('boom'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == ""


LAZY_PACKAGES = [
    "voxagent",
    "voxagent.audio",
    "voxagent.client",
    "voxagent.eval",
    "voxagent.realtime",
    "voxagent.serve",
    "voxagent.web",
]


@pytest.mark.parametrize(
    "module",
    [
        "voxagent.conversation",
        "voxagent.client.types",
        "voxagent.client.dialects",
        "voxagent.serve.command",
        "voxagent.realtime",
        "voxagent.tools",
    ],
)
def test_data_types_load_no_http_stack(module: str) -> None:
    """The conversation and the wire types are data: importing them loads neither httpx nor
    websockets (only the client and the realtime transcriber do)."""
    code = (
        f"import sys, {module}; print([m for m in ('httpx', 'httpcore', 'websockets') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_one_table_says_what_a_package_exports(package: str) -> None:
    """`__all__`, the lazy loader and what type checkers see all come from `_EXPORTS`."""
    import ast
    import importlib
    from pathlib import Path

    module = importlib.import_module(package)
    table: dict[str, str] = module._EXPORTS
    assert set(module.__all__) - {"__version__"} == set(table)
    source = Path(module.__file__ or "").read_text()
    seen: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom), ast.unparse(statement)
                for alias in statement.names:
                    # `import X as X`: an explicit re-export, as mypy --strict requires.
                    assert alias.asname == alias.name, ast.unparse(statement)
                    seen[alias.name] = statement.module or ""
    assert seen == table
    for name, where in table.items():
        assert getattr(importlib.import_module(where), name) is getattr(module, name), name


def test_normal_use_needs_only_the_top_level() -> None:
    """Events, settings, the conversation and approval types come from `voxagent` itself."""
    for name in (
        "Agent",
        "ModelSettings",
        "Conversation",
        "ApprovalRequest",
        "Denied",
        "Event",
        "event_to_dict",
        "SpeechPaused",
        "TurnCompleted",
        "ToolCallFinished",
        "ErrorEvent",
        "ModelError",
        "AudioError",
    ):
        assert name in voxagent.__all__, name
    assert set(events.__all__) <= set(voxagent.__all__)


def test_mypy_sees_the_lazy_names(tmp_path: Any) -> None:
    example = tmp_path / "uses_top_level.py"
    example.write_text(
        "from voxagent import Agent, Conversation, ModelSettings, SpeechPaused, TurnCompleted\n"
        "from voxagent.audio import TurnDetector, utterances\n"
        "settings: ModelSettings = ModelSettings(temperature=0.0)\n"
        "paused: SpeechPaused = SpeechPaused(at=1.0)\n"
        "reveal_type(Agent)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(example)],
        capture_output=True,
        text=True,
    )
    assert "error" not in done.stdout, done.stdout
    assert "voxagent.agent.agent.Agent" in done.stdout
