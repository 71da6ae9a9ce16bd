"""Real human speech through `agent.listen()` with the `turn` extra: Smart Turn decides the end.

The recordings are the real-speech corpus built by tools/real_speech.py (tools/test.sh builds it
and fetches the Smart Turn model into ~/.cache/voxagent). `ScriptedServer` answers each turn, so
what is asserted is the turn taking: how many turns the audio became and, in stream time (the
utterance's `detected_at - end`, reported as `TurnCompleted.timings["endpointing"]`), how long
the end took to decide.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from voxagent import Agent
from voxagent.audio import ArraySource
from voxagent.audio.turn_detector import SmartTurnDetector, default_detector
from voxagent.events import Event, SpeechStarted, TurnCompleted
from voxagent.testing import Reply, ScriptedServer

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
OLD_END_SILENCE_S = 0.5  # the silence the old default waited for


def _corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_speech", ROOT / "tools" / "real_speech.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_speech"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[Any, Any]]:
    module = _corpus()
    try:
        scenes = module.load(verify=True)
    except FileNotFoundError as exc:
        pytest.fail(f"{exc} (tools/test.sh builds it)")
    return {s.name: (s, module.read(s)) for s in scenes}


@pytest.fixture(autouse=True)
def _turn_extra_installed() -> None:
    detector = default_detector()
    if not isinstance(detector, SmartTurnDetector):
        pytest.fail("the turn extra or its model is missing: tools/test.sh installs both")


async def turns(audio: Any, replies: int) -> tuple[list[Event], ScriptedServer]:
    events: list[Event] = []
    async with ScriptedServer([Reply.text(f"Answer {i}.") for i in range(replies)]) as server:
        async with Agent(base_url=server.base_url) as agent:
            async with contextlib.aclosing(agent.listen(ArraySource(audio, 16000))) as stream:
                async for event in stream:
                    events.append(event)
    return events, server


# librivox-0890-pause: Smart Turn's P climbs with the silence there (0.04 -> 0.92 in 0.4 s), which
# the previous policy (latest answer, relaxing threshold) took for the end.
@pytest.mark.parametrize(
    "name", ["asterisk-en-youhave-pause", "librivox-0890-pause", "librivox-0930-pause"]
)
async def test_a_sentence_with_a_pause_inside_is_one_turn(
    corpus: dict[str, tuple[Any, Any]], name: str
) -> None:
    scene, audio = corpus[name]
    assert scene.pauses and scene.pauses[0][1] - scene.pauses[0][0] >= OLD_END_SILENCE_S
    events, server = await turns(audio, replies=3)
    assert server.errors == []
    done = [e for e in events if isinstance(e, TurnCompleted)]
    starts = [e for e in events if isinstance(e, SpeechStarted)]
    assert len(done) == 1, [e.text for e in done]
    assert len(starts) == 1
    assert done[0].text == "Answer 0."
    # The turn's end was decided after the labelled end of speech, not inside the pause.
    assert done[0].timings["endpointing"] >= 0.0


async def test_a_finished_command_is_decided_before_the_old_half_second(
    corpus: dict[str, tuple[Any, Any]],
) -> None:
    _, audio = corpus["command-something"]
    events, server = await turns(audio, replies=2)
    assert server.errors == []
    done = [e for e in events if isinstance(e, TurnCompleted)]
    assert len(done) == 1
    waited = done[0].timings["endpointing"]  # stream time: detected_at - end of speech
    assert 0.0 < waited < OLD_END_SILENCE_S
