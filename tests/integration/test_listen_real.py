"""`Agent.listen(Microphone())` end to end: virtual microphone -> endpointing -> real vLLM -> tool.

A private PulseAudio daemon (tools/virtual_mic.py) plays examples/audio/kitchen_light_on.wav into
a null sink whose monitor is the default source; the agent hears it through sounddevice, cuts one
utterance, sends it to the real vLLM CPU server with tool_choice="set_light", runs the tool and
answers. With CI=true, failing to start PulseAudio fails the test; elsewhere it is skipped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from voxagent import Agent, ModelSettings
from voxagent.audio import Microphone
from voxagent.events import (
    ErrorEvent,
    Event,
    SpeechEnded,
    SpeechStarted,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
KITCHEN = ROOT / "examples" / "audio" / "kitchen_light_on.wav"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_listen_hears_one_command_and_runs_the_tool(
    vllm_chat_server: Any, virtual_mic: Any
) -> None:
    app = _load("voxagent_example_smart_home_listen", ROOT / "examples" / "smart_home.py")
    home = app.Home()
    agent = Agent(
        model=vllm_chat_server.model,
        base_url=vllm_chat_server.base_url,
        tools=[app.set_light, app.set_thermostat, app.start_timer, app.unlock_front_door],
        instructions="You are the voice assistant of a flat. Use the tools to act.",
        deps=home,
        settings=ModelSettings(
            tool_choice="set_light",
            temperature=0.0,
            max_tokens=64,
        ),
    )
    events: list[Event] = []

    async def play() -> None:
        await anyio.sleep(0.5)  # the capture stream is open by then
        await anyio.to_thread.run_sync(lambda: virtual_mic.play(KITCHEN).wait(timeout=30))

    # Hard limit: a capture stream that gets no data can block forever.
    with anyio.fail_after(150):
        async with agent, anyio.create_task_group() as tg:
            tg.start_soon(play)
            # After the turn completes, listen 1.5 s more: the file holds one utterance only.
            # The scope encloses the generator's whole life, so cancelling it unwinds cleanly.
            with anyio.CancelScope() as listening:
                async with contextlib.aclosing(
                    agent.listen(Microphone(stall_timeout_s=5.0))
                ) as stream:
                    async for event in stream:
                        events.append(event)
                        if isinstance(event, TurnCompleted):
                            listening.deadline = anyio.current_time() + 1.5

    errors = [event for event in events if isinstance(event, ErrorEvent)]
    assert not errors, errors
    assert sum(isinstance(event, SpeechStarted) for event in events) == 1, events
    assert sum(isinstance(event, SpeechEnded) for event in events) == 1, events
    assert sum(isinstance(event, TurnCompleted) for event in events) == 1, events
    ended = next(event for event in events if isinstance(event, SpeechEnded))
    assert 1.0 < ended.duration < 4.0  # the file holds about 2.5 s, silence included
    started = [event for event in events if isinstance(event, ToolCallStarted)]
    finished = [event for event in events if isinstance(event, ToolCallFinished)]
    assert [event.name for event in started] == ["set_light"]
    assert len(finished) == 1 and finished[0].is_error is False, finished
    # The tool ran on the deps with the validated arguments the model produced.
    arguments = started[0].arguments
    expected = arguments.get("brightness", 100) if arguments["on"] else 0
    assert home.lights == {arguments["room"]: expected}
    result = json.loads(finished[0].result)
    assert result["room"] == arguments["room"]
    kinds = [type(event) for event in events]
    assert kinds.index(SpeechEnded) < kinds.index(ToolCallStarted) < kinds.index(TurnCompleted)
