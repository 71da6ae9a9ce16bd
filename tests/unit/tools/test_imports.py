"""Import weight: tools must not drag numpy (or the rest of voxagent) in."""

from __future__ import annotations

import subprocess
import sys

import voxagent.tools as tools_package


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


def test_tools_do_not_import_numpy_or_audio() -> None:
    loaded = _modules_after("import voxagent.tools")
    assert "pydantic" in loaded
    assert not {"numpy", "httpx", "soundfile", "sounddevice", "voxagent.audio"} & loaded


def test_public_names() -> None:
    for name in ("tool", "Tool", "ToolResult", "RunContext", "ToolRegistry", "ToolArgumentsError"):
        assert name in tools_package.__all__
        assert getattr(tools_package, name) is not None
    assert len(set(tools_package.__all__)) == len(tools_package.__all__)
