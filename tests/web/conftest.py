"""Fixtures for the `voxagent web` tests: anyio on asyncio, real speech, a scripted model server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_tool(name: str) -> ModuleType:
    """Import one of the project's scripts in tools/ (they are not a package)."""
    spec = importlib.util.spec_from_file_location(
        f"voxagent_tools_{name}", ROOT / "tools" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def speech_pcm() -> bytes:
    """A real person saying "Front center", padded with silence, as 16 kHz mono PCM16."""
    from voxagent.audio.convert import float_to_pcm16, resample

    browser = load_tool("browser")
    try:
        samples, rate = browser.speech_samples()
    except browser.SpeechUnavailable as exc:
        pytest.fail(f"the real speech recording is required: {exc}")
    speech = resample(samples, rate, 16000)
    silence = np.zeros(8000, dtype=np.float32)
    return float_to_pcm16(np.concatenate((silence, speech, silence, silence, silence)))


@pytest.fixture
def example_app() -> Path:
    return ROOT / "examples" / "smart_home.py"
