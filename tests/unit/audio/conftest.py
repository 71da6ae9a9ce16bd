"""Shared fixtures for the audio tests: the anyio backend and the espeak-ng speech corpus."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOLS = Path(__file__).resolve().parents[3] / "tools"


def load_tool(name: str) -> ModuleType:
    """Import a script from tools/ by path (tools/ is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def speech() -> ModuleType:
    """tools/speech.py; espeak-ng is installed by tools/test.sh on every machine."""
    module = load_tool("speech")
    if not module.have_espeak():
        pytest.fail("espeak-ng is missing: apt-get install espeak-ng (tools/test.sh does this)")
    return module


@pytest.fixture(autouse=True)
def _silence_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests pin the VAD-only path: the Smart Turn model, when installed, stays off
    unless a test passes a detector itself."""
    monkeypatch.setenv("VOXAGENT_TURN_MODEL", "off")
