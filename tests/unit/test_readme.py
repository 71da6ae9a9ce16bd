"""The README's "In code" program runs as written, against the validating scripted server.

Only what points at the outside world is swapped: the server URL for a `ScriptedServer`'s, the
audio file for an example recording, the microphone for that recording as an array source.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.from_thread
import pytest
import soundfile as sf

from voxagent.testing import Reply, ScriptedServer

ROOT = Path(__file__).resolve().parents[2]
WAV = ROOT / "examples" / "audio" / "kitchen_light_on.wav"


def in_code_block() -> str:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## In code", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README.md has no python block under 'In code'"
    return match.group(1)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(
            ScriptedServer(model="mistralai/Voxtral-Mini-3B-2507")
        ) as scripted,
    ):
        yield scripted


def test_the_in_code_program_runs_as_written(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = in_code_block()
    for outside in ('"http://127.0.0.1:8000/v1"', '"cmd.wav"', "Microphone()"):
        assert outside in code, f"the README block no longer uses {outside}"
    samples, rate = sf.read(WAV, dtype="float32")
    code = (
        code.replace('"http://127.0.0.1:8000/v1"', repr(server.base_url))
        .replace('"cmd.wav"', repr(str(WAV)))
        .replace("Microphone()", "ArraySource(_SPEECH, 16000)")
    )
    server.add(
        Reply.tool_call("set_light", {"room": "kitchen", "on": True}),
        Reply.text("Kitchen light on."),
        Reply.tool_call("set_light", {"room": "bedroom", "on": True}),
        Reply.text("Bedroom too."),
        Reply.error(500, "the model crashed"),  # the spoken turn: listening reports it
    )
    import numpy as np

    from voxagent.audio import ArraySource

    speech = np.concatenate([samples, np.zeros(rate * 2, dtype=np.float32)])
    # A real module (dataclasses look their class's module up in sys.modules).
    module = types.ModuleType("readme_in_code")
    module.__dict__.update(ArraySource=ArraySource, _SPEECH=speech)
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, "README.md", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    namespace = module.__dict__
    out = capsys.readouterr().out
    assert "Kitchen light on." in out  # the first turn, printed with its calls and timings
    assert "the model crashed" in out  # the ErrorEvent case ran, and listening went on
    assert namespace["agent"].deps.lights == {"kitchen": 100, "bedroom": 100}
    assert server.errors == []
