"""`Agent.ask` against the real vLLM CPU server: full tool rounds and a long spoken conversation.

The tiny random-weight model only calls a tool when it is named in tool_choice, and then gives a
schema-valid call; afterwards (tool_choice "auto") it answers in junk text. That is enough to show
the whole loop: request, tool call, validated arguments, the tool run on the deps, the result sent
back and accepted, the final answer. Every request is recorded through an injected httpx client.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import numpy as np
import pytest

from voxagent import Agent, ModelSettings
from voxagent.conversation import AssistantTurn, ToolResultTurn, UserTurn
from voxagent.errors import ContextLengthError
from voxagent.events import (
    AssistantMessage,
    AssistantTextDelta,
    Event,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
    TurnStarted,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
AUDIO = ROOT / "examples" / "audio"
SPOKEN = [
    "kitchen_light_on",
    "bedroom_light_off",
    "thermostat_21",
    "pasta_timer",
    "what_time",
    "salon_lumiere",
]


def _smart_home() -> ModuleType:
    """The example app's module (its tools and Home state), loaded from examples/."""
    spec = importlib.util.spec_from_file_location(
        "voxagent_example_smart_home_agent_real", ROOT / "examples" / "smart_home.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Recorder:
    """Keeps every request the agent sends (the body as JSON) and every response status."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any] | None]] = []
        self.statuses: list[tuple[str, int]] = []
        self._answered = anyio.Event()
        # The agent never closes a client it was given: the test does, after the agent.
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(120.0, connect=10.0),
            event_hooks={"request": [self._request], "response": [self._response]},
        )

    async def _request(self, request: httpx.Request) -> None:
        body = None
        if request.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(request.content)
        self.requests.append((request.url.path, body))

    async def _response(self, response: httpx.Response) -> None:
        self.statuses.append((response.request.url.path, response.status_code))
        self._answered.set()
        self._answered = anyio.Event()

    async def wait_answered(self, path_end: str, count: int) -> None:
        """Wait until `count` requests to a path ending in `path_end` have been answered."""
        while sum(path.endswith(path_end) for path, _ in self.statuses) < count:
            await self._answered.wait()

    def chats(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path.endswith("/chat/completions") and body]


def _audio_parts(body: dict[str, Any]) -> int:
    return sum(
        1
        for message in body["messages"]
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "input_audio"
    )


def _agent(
    server: Any, app: ModuleType, recorder: Recorder, *, stream: bool = True, **options: Any
) -> Agent[Any]:
    return Agent(
        model=server.model,
        base_url=server.base_url,
        tools=[app.set_light, app.set_thermostat, app.start_timer, app.unlock_front_door],
        instructions="You are the voice assistant of a flat. Use the tools to act.",
        deps=app.Home(),
        http_client=recorder.http,
        settings=ModelSettings(temperature=0.0, max_tokens=64, stream=stream),
        **options,
    )


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_ask_with_named_tool_choice_runs_a_full_round(
    vllm_chat_server: Any, stream: bool
) -> None:
    app = _smart_home()
    recorder = Recorder()
    events: list[Event] = []
    agent = _agent(vllm_chat_server, app, recorder, stream=stream)
    async with recorder.http, agent:
        turn = await agent.ask(
            audio=AUDIO / "kitchen_light_on.wav", tool_choice="set_light", on_event=events.append
        )
    home = agent.deps
    # The model called the tool; the arguments passed validation; the tool ran on the deps.
    assert [record.name for record in turn.tool_calls] == ["set_light"]
    record = turn.tool_calls[0]
    arguments = json.loads(record.arguments)
    assert not record.result.is_error, record.result.content
    assert arguments["room"] in {"kitchen", "bedroom", "living_room", "bathroom"}
    expected = arguments.get("brightness", 100) if arguments["on"] else 0
    assert home.lights == {arguments["room"]: expected}
    # Two requests, both accepted: the forced call, then the answer with the result sent back.
    assert turn.rounds == 2
    chats = recorder.chats()
    assert len(chats) == 2
    assert chats[0]["tool_choice"] == {"type": "function", "function": {"name": "set_light"}}
    assert chats[1]["tool_choice"] == "auto"
    assert all(bool(body.get("stream")) == stream for body in chats)
    sent_back = [m for m in chats[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in sent_back] == [record.call_id]
    assert sent_back[0]["content"] == record.result.content
    assert all(status == 200 for _, status in recorder.statuses), recorder.statuses
    assert turn.text  # the final answer (junk words from random weights)
    assert turn.usage.prompt_tokens > 2 * 376  # audio went out in both requests
    # Events tell the same story, in order.
    kinds = [type(event) for event in events]
    assert kinds[0] is TurnStarted and kinds[-1] is TurnCompleted
    assert kinds.index(ToolCallStarted) < kinds.index(ToolCallFinished)
    assert kinds.index(ToolCallFinished) < kinds.index(AssistantMessage)
    assert (AssistantTextDelta in kinds) == stream
    finished = next(event for event in events if isinstance(event, ToolCallFinished))
    assert finished.is_error is False and finished.call_id == record.call_id
    # The conversation holds the whole round and would render again.
    shapes = [type(t) for t in agent.conversation.turns]
    assert shapes == [UserTurn, AssistantTurn, ToolResultTurn, AssistantTurn]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_six_spoken_turns_stay_under_the_audio_limit_and_context(
    vllm_chat_server: Any, stream: bool
) -> None:
    app = _smart_home()
    recorder = Recorder()
    agent = _agent(vllm_chat_server, app, recorder, stream=stream, max_audio_items=5)
    turns = []
    async with recorder.http, agent:
        for index, name in enumerate(SPOKEN):
            # A forced tool call on every other turn: tool rounds must survive compaction too.
            choice = "set_light" if index % 2 == 0 else None
            turns.append(await agent.ask(audio=AUDIO / f"{name}.wav", tool_choice=choice))
    statuses = [status for path, status in recorder.statuses if path.endswith("/chat/completions")]
    assert statuses and all(status == 200 for status in statuses), recorder.statuses
    chats = recorder.chats()
    assert len(chats) == 9  # 3 turns with a tool round (2 requests) + 3 plain turns
    assert all(turn.text for turn in turns)
    assert [len(turn.tool_calls) for turn in turns] == [1, 0, 1, 0, 1, 0]
    per_request = [_audio_parts(body) for body in chats]
    assert max(per_request) <= 5, per_request
    # The sixth turn's request: at most 5 clips, the newest one among them. How many older
    # clips became text depends on when background transcripts arrive (the random model's are
    # ~500 tokens of junk, which the token budget then pays for), so only the limit is exact.
    assert 1 <= per_request[-1] <= 5, per_request
    users = [m for m in chats[-1]["messages"] if m["role"] == "user"]
    assert [part["type"] for part in users[-1]["content"]] == ["input_audio"]
    as_text = [m for m in users[:-1] if _audio_parts({"messages": [m]}) == 0]
    assert len(as_text) >= 1  # compacted: earlier spoken turns travel as text
    assert len(users) >= 2  # compaction replaced audio rather than dropping every older turn
    # Every answer was accepted (vLLM answers 400 when prompt + max_tokens exceed 4096).
    assert all(turn.usage.prompt_tokens > 376 for turn in turns)
    assert len(agent.deps.lights) >= 1


def _long_tone(seconds: float) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (np.sin(2 * np.pi * 220 * t) * 0.3).astype(np.float32)


async def test_a_clip_longer_than_the_context_is_refused_and_the_agent_goes_on(
    vllm_chat_server: Any,
) -> None:
    app = _smart_home()
    recorder = Recorder()
    agent = _agent(vllm_chat_server, app, recorder)
    async with recorder.http, agent:
        with pytest.raises(ContextLengthError) as raised:
            # 330 s of audio is 11 chunks of 30 s: 4127 tokens, more than max_model_len 4096.
            await agent.ask(audio=_long_tone(330.0), sample_rate=16000)
        assert raised.value.hint
        assert "4096" in raised.value.message
        assert recorder.chats() == []  # refused before anything was sent
        assert agent.conversation.turns == ()  # and not recorded: later saves stay small
        turn = await agent.ask(audio=AUDIO / "kitchen_light_on.wav", tool_choice="set_light")
    assert [record.name for record in turn.tool_calls] == ["set_light"]
    assert not turn.tool_calls[0].result.is_error
    assert turn.text
    statuses = [s for path, s in recorder.statuses if path.endswith("/chat/completions")]
    assert statuses == [200, 200]


async def test_a_refused_transcription_is_not_retried_every_round(
    vllm_chat_server: Any,
) -> None:
    from voxagent.audio import to_clip
    from voxagent.conversation import Conversation

    app = _smart_home()
    recorder = Recorder()
    # A clip too long for the context is no longer recorded by ask() (it is refused first), but
    # a conversation can still hold one (built or loaded): compaction then wants its transcript,
    # which the server refuses with a 400 (the clip is longer than the context).
    conversation = Conversation()
    conversation.add_user(audio=to_clip(_long_tone(330.0), 16000))
    conversation.add_assistant("I heard a long tone.")
    agent = _agent(vllm_chat_server, app, recorder, conversation=conversation)
    async with recorder.http, agent:
        await agent.ask(text="Hello?")
        with anyio.fail_after(60):  # transcriptions run in the background
            await recorder.wait_answered("/audio/transcriptions", 1)
        await agent.ask(text="Are you there?")
        await agent.ask(text="Still there?")
        with anyio.move_on_after(10):
            await recorder.wait_answered("/audio/transcriptions", 2)
    answers = [s for path, s in recorder.statuses if path.endswith("/audio/transcriptions")]
    assert answers == [400]  # asked once; a 400 will not change on retry


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
async def test_required_tool_choice_with_a_seed_answers_every_call(
    vllm_chat_server: Any, stream: bool
) -> None:
    # At temperature 1 with a seed the tiny model makes several schema-valid calls in one
    # message (4 with this seed on the development machine; the count depends on the CPU's
    # arithmetic, so only "at least one" is asserted, and that every call is answered).
    app = _smart_home()
    recorder = Recorder()
    agent = _agent(vllm_chat_server, app, recorder, stream=stream)
    # Room for three calls with junk labels (up to 40 characters each): cut short, a call's
    # JSON would be incomplete.
    agent.settings = replace(agent.settings, temperature=1.0, seed=1234, max_tokens=256)
    async with recorder.http, agent:
        turn = await agent.ask(audio=AUDIO / "thermostat_21.wav", tool_choice="required")
    assert len(turn.tool_calls) >= 1, turn
    assert len({record.call_id for record in turn.tool_calls}) == len(turn.tool_calls)
    chats = recorder.chats()
    assert chats[0]["tool_choice"] == "required"
    assert all(s == 200 for p, s in recorder.statuses if p.endswith("/chat/completions"))
    answered = [m["tool_call_id"] for m in chats[1]["messages"] if m["role"] == "tool"]
    assert answered == [record.call_id for record in turn.tool_calls]
    for record in turn.tool_calls:
        # Guided decoding keeps the arguments schema-valid: every call passed validation and ran,
        # or was refused (the door lock: nobody confirms inside ask()) or answered by a
        # ToolError (a second timer with the same label).
        assert record.result.error_kind in (None, "denied", "tool_error"), record.result
