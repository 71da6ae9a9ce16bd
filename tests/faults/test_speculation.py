"""Speculative replies in `Agent.listen`: sent at a pause, used when the end is confirmed,
thrown away (with nothing shown, said, run or recorded) when the user speaks on.

Most cases take the candidate end from silence alone (`turn_detector=None`: a `VoicePause` after
0.2 s, the end after 0.5 s), so where the user resumes is exactly what the test says; the
detector's own pause rule (a `VoicePause` when P(complete) is likely but not yet decided) is
driven by a fake detector at the end.

The source is a person speaking now (`live = True`) whose frames come as fast as they are read,
with explicit waits between parts, so the user can resume at any point of a speculative request:
before it is sent, while the server is still thinking, mid-stream, or after the whole answer (tool
calls included) has arrived. The scripted server validates every request like vLLM.
"""

from __future__ import annotations

import base64
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from voxagent import Agent, VoiceSettings, tool
from voxagent.audio import Frame
from voxagent.client.dialects import VLLM
from voxagent.conversation import AssistantTurn, UserTurn
from voxagent.events import (
    AssistantMessage,
    AssistantTextDelta,
    Event,
    SpeculationDiscarded,
    SpeculationStarted,
    SpeechPaused,
    SpeechResumed,
    ToolCallStarted,
    TurnCompleted,
    TurnStarted,
)
from voxagent.testing import Reply, ScriptedModel, ScriptedServer
from voxagent.testing.server import ScriptedRequest

from .conftest import RATE, _example, assert_paired

pytestmark = pytest.mark.anyio

Part = np.ndarray[Any, Any] | Callable[[], Awaitable[None]]


@functools.cache
def trimmed(name: str) -> np.ndarray[Any, Any]:
    """An example clip without its leading and trailing quiet (so pauses are what we make)."""
    samples = _example(name)
    loud = np.flatnonzero(np.abs(samples) > 0.02)
    return samples[loud[0] : loud[-1] + 1].copy()


def quiet(seconds: float) -> np.ndarray[Any, Any]:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


class Person:
    """A live source: audio parts as fast as they are read, and waits between them."""

    live = True

    def __init__(self, *parts: Part) -> None:
        self.parts = parts

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        block, at = 320, 0
        for part in self.parts:
            if callable(part):
                await part()
                continue
            for i in range(0, part.size, block):
                chunk = part[i : i + block]
                yield Frame(chunk.astype(np.float32), at / RATE)
                at += chunk.size
                await anyio.lowlevel.checkpoint()


def audio_bytes(request: ScriptedRequest) -> int:
    """The size of the audio in the request's last user message (which utterance it answers)."""
    user = [m for m in request["messages"] if m["role"] == "user"][-1]
    for part in user["content"]:
        if isinstance(part, dict) and part.get("type") == "input_audio":
            return len(base64.b64decode(part["input_audio"]["data"]))
    raise AssertionError("no audio in the last user message")


def answers_tool(request: ScriptedRequest) -> bool:
    return request["messages"][-1]["role"] == "tool"


class Counter:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.ran = anyio.Event()  # a read-only tool ran


async def collect(agent: Agent[Any], source: Any) -> list[Event]:
    events: list[Event] = []
    with anyio.fail_after(30):
        async with contextlib.aclosing(agent.listen(source)) as stream:
            async for event in stream:
                events.append(event)
    return events


def of(events: list[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def make_tools(counter: Counter) -> list[Any]:
    @tool(read_only=True)
    def weather(city: str) -> str:
        """The weather in a city.

        Args:
            city: Which city.
        """
        counter.calls.append({"tool": "weather", "city": city})
        counter.ran.set()
        return f"sunny in {city}"

    @tool
    def set_light(room: str, on: bool) -> str:
        """Switch a light.

        Args:
            room: Which room.
            on: On or off.
        """
        counter.calls.append({"tool": "set_light", "room": room})
        return f"{room} {'on' if on else 'off'}"

    return [weather, set_light]


def user_turns(agent: Agent[Any]) -> list[UserTurn]:
    return [t for t in agent.conversation.turns if isinstance(t, UserTurn)]


async def test_a_confirmed_speculation_is_the_turns_request() -> None:
    counter = Counter()
    replies = [Reply.tool_call("set_light", {"room": "kitchen", "on": True}), Reply.text("Done.")]
    async with ScriptedServer(replies) as server:
        agent = Agent(
            base_url=server.base_url,
            tools=make_tools(counter),
            voice=VoiceSettings(turn_detector=None),
        )
        async with agent:
            events = await collect(agent, Person(trimmed("kitchen_light_on"), quiet(1.5)))
    assert of(events, SpeechPaused) and of(events, SpeculationStarted)
    assert not of(events, SpeculationDiscarded)
    (started,) = of(events, TurnStarted)
    assert started.speculative
    # The speculative request was the turn's first request: sent once, never repeated.
    assert len(server.requests) == 2 and not server.rejections
    assert [c["tool"] for c in counter.calls] == ["set_light"]
    (done,) = of(events, TurnCompleted)
    assert done.text == "Done." and "speculation" in done.timings
    assert_paired(agent.conversation.render_next(VLLM, text="next"))


async def test_speech_resumed_discards_everything_the_speculation_produced() -> None:
    counter = Counter()
    answered = anyio.Event()

    async def reply(request: ScriptedRequest) -> Reply:
        if answers_tool(request):
            return Reply.text("All set.")
        if audio_bytes(request) < first_bytes[0] * 1.5:  # the speculative one: the first half
            answered.set()
            return Reply(
                content="Turning it on now.",
                calls=Reply.tool_call("set_light", {"room": "attic", "on": True}).calls,
            )
        return Reply.tool_call("set_light", {"room": "kitchen", "on": True})

    first = trimmed("kitchen_light_on")
    first_bytes = [first.size * 2]

    async def after_the_answer_arrived() -> None:
        with anyio.fail_after(10):
            await answered.wait()
        await anyio.sleep(0.2)  # the whole answer (text and call) is buffered by now

    person = Person(
        first, quiet(0.3), after_the_answer_arrived, trimmed("todo_dentist"), quiet(1.5)
    )
    async with ScriptedServer(default=reply) as server:
        agent = Agent(
            base_url=server.base_url,
            tools=make_tools(counter),
            voice=VoiceSettings(turn_detector=None),
        )
        async with agent:
            events = await collect(agent, person)
    (discarded,) = of(events, SpeculationDiscarded)
    assert discarded.reason == "speech resumed" and discarded.tools_run == ()
    assert of(events, SpeechResumed)
    # The speculative answer never surfaced: not shown, not said, its tool never ran.
    assert [c["room"] for c in counter.calls] == ["kitchen"]
    shown = "".join(e.text for e in of(events, AssistantTextDelta))
    assert "Turning it on" not in shown
    assert [e.text for e in of(events, AssistantMessage)] == ["All set."]
    assert all(e.name == "set_light" for e in of(events, ToolCallStarted))
    # One user turn holding both halves; the speculative answer is nowhere in the conversation.
    (user,) = user_turns(agent)
    assert user.audio is not None and user.audio.duration_s > first.size / RATE + 0.5
    texts = [t.text for t in agent.conversation.turns if isinstance(t, AssistantTurn)]
    assert texts == [None, "All set."]
    assert not server.rejections
    assert_paired(agent.conversation.render_next(VLLM, text="next"))


async def test_read_only_results_are_reused_after_a_discard() -> None:
    counter = Counter()
    ran = counter.ran

    async def reply(request: ScriptedRequest) -> Reply:
        if answers_tool(request):
            return Reply.text("It is sunny.")
        return Reply.tool_call("weather", {"city": "Paris"})

    async def after_the_tool_ran() -> None:
        with anyio.fail_after(10):
            await ran.wait()

    person = Person(
        trimmed("what_time"), quiet(0.3), after_the_tool_ran, trimmed("what_time"), quiet(1.5)
    )
    async with ScriptedServer(default=reply) as server:
        agent = Agent(
            base_url=server.base_url,
            tools=make_tools(counter),
            voice=VoiceSettings(turn_detector=None),
        )
        async with agent:
            events = await collect(agent, person)
    (discarded,) = of(events, SpeculationDiscarded)
    assert discarded.tools_run == ("weather",)
    # It ran once, speculatively; the confirmed turn's identical call reused its result.
    assert counter.calls == [{"tool": "weather", "city": "Paris"}]
    (started,) = of(events, ToolCallStarted)
    assert started.speculative and started.name == "weather"
    assert of(events, TurnCompleted)[0].text == "It is sunny."
    assert not server.rejections
    assert_paired(agent.conversation.render_next(VLLM, text="next"))


async def test_a_side_effect_tool_waits_for_the_confirmation() -> None:
    counter = Counter()
    seen: list[int] = []

    async def reply(request: ScriptedRequest) -> Reply:
        if answers_tool(request):
            return Reply.text("Done.")
        seen.append(len(counter.calls))  # how many tools had run when the request came
        return Reply.tool_call("set_light", {"room": "kitchen", "on": True})

    async with ScriptedModel(default=reply) as model:
        agent = Agent(
            model,
            tools=make_tools(counter),
            voice=VoiceSettings(turn_detector=None),
        )
        async with agent:
            events = await collect(agent, Person(trimmed("kitchen_light_on"), quiet(1.5)))
    started = of(events, ToolCallStarted)
    assert len(started) == 1 and not started[0].speculative
    turn_started = next(i for i, e in enumerate(events) if isinstance(e, TurnStarted))
    assert events.index(started[0]) > turn_started
    assert len(counter.calls) == 1


async def test_speculation_can_be_turned_off() -> None:
    async with ScriptedModel([Reply.text("Hi.")]) as model:
        agent = Agent(model, voice=VoiceSettings(speculate=False, turn_detector=None))
        async with agent:
            events = await collect(agent, Person(trimmed("what_time"), quiet(1.5)))
    assert of(events, SpeechPaused) and not of(events, SpeculationStarted)
    assert not of(events, TurnStarted)[0].speculative
    assert len(model.requests) == 1


async def test_a_failed_speculative_request_is_reported_by_the_confirmed_turn() -> None:
    async with ScriptedModel([Reply.error(400, "bad audio"), Reply.text("Hi.")]) as model:
        agent = Agent(model, voice=VoiceSettings(turn_detector=None))
        async with agent:
            events = await collect(agent, Person(trimmed("what_time"), quiet(1.5)))
            # The turn failed like an unspeculated one would; the next turn works.
            turn = await agent.ask(text="hello?")
    from voxagent.events import ErrorEvent

    errors = of(events, ErrorEvent)
    assert len(errors) == 1 and "bad audio" in errors[0].message
    assert turn.text == "Hi."
    assert len(model.requests) == 2


# ------------------------------------------ the user resumes at random points (hypothesis)


@given(
    reply_kind=st.sampled_from(["text", "side_effect", "read_only"]),
    pause=st.floats(min_value=0.22, max_value=0.42),
    wait=st.floats(min_value=0.0, max_value=0.25),
    server_delay=st.floats(min_value=0.0, max_value=0.15),
    chunk_delay=st.sampled_from([0.0, 0.01, 0.03]),
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_resuming_at_any_point_leaves_no_trace(
    reply_kind: str,
    pause: float,
    wait: float,
    server_delay: float,
    chunk_delay: float,
) -> None:
    anyio.run(_resume_case, reply_kind, pause, wait, server_delay, chunk_delay)


async def _resume_case(
    reply_kind: str, pause: float, wait: float, server_delay: float, chunk_delay: float
) -> None:
    counter = Counter()
    first = trimmed("what_time")
    first_bytes = first.size * 2

    async def reply(request: ScriptedRequest) -> Reply:
        timing = {"delay": server_delay, "chunk_delay": chunk_delay, "chunk_size": 4}
        if answers_tool(request):
            return Reply.text(f"final after {audio_bytes(request)}", **timing)
        size = audio_bytes(request)
        if size < first_bytes * 1.5:  # speculative: it answers the first half only
            match reply_kind:
                case "text":
                    return Reply.text("SPECULATIVE answer", **timing)
                case "side_effect":
                    return Reply.tool_call("set_light", {"room": "attic", "on": True}, **timing)
                case _:
                    return Reply.tool_call("weather", {"city": "Oslo"}, **timing)
        return Reply.text(f"final for {size}", **timing)

    async def resume_later() -> None:
        await anyio.sleep(wait)

    person = Person(first, quiet(pause), resume_later, trimmed("no"), quiet(1.5))
    async with ScriptedServer(default=reply) as server:
        agent = Agent(
            base_url=server.base_url,
            tools=make_tools(counter),
            voice=VoiceSettings(turn_detector=None),
        )
        async with agent:
            events = await collect(agent, person)
            before = agent.conversation.turns
    # Discarded work left no trace: one user turn (both halves), one answer to it, no side
    # effect ran, nothing speculative was shown.
    users = [t for t in before if isinstance(t, UserTurn)]
    assert len(users) == 1, events
    assert users[0].audio is not None and users[0].audio.duration_s > first.size / RATE + 0.2
    answers = [t for t in before if isinstance(t, AssistantTurn)]
    assert len(answers) == 1 and not answers[0].tool_calls
    assert answers[0].text is not None and answers[0].text.startswith("final for ")
    assert all(c["tool"] != "set_light" for c in counter.calls)
    shown = "".join(e.text for e in of(events, AssistantTextDelta))
    assert "SPECULATIVE" not in shown
    assert not of(events, ToolCallStarted)
    assert of(events, SpeechResumed), "the pause inside the utterance was not heard"
    used = 1 if of(events, TurnStarted)[0].speculative else 0
    assert len(of(events, SpeculationDiscarded)) == len(of(events, SpeculationStarted)) - used
    assert not server.rejections
    assert_paired(agent.conversation.render_next(VLLM, text="next"))


class Unsure:
    """A turn detector that finds every pause likely, never certain: the end comes from its
    relaxing threshold (0.4 is reached after about 0.45 s of silence with `TurnPolicy()`)."""

    def __init__(self) -> None:
        self.calls = 0

    def probability_complete(self, samples: np.ndarray[Any, Any]) -> float:
        self.calls += 1
        return 0.4


async def test_a_detectors_likely_end_is_speculated_and_then_confirmed() -> None:
    counter = Counter()
    detector = Unsure()
    replies = [Reply.tool_call("weather", {"city": "Rome"}), Reply.text("Sunny.")]
    async with ScriptedServer(replies) as server:
        agent = Agent(
            base_url=server.base_url,
            tools=make_tools(counter),
            voice=VoiceSettings(turn_detector=detector),
        )
        async with agent:
            events = await collect(agent, Person(trimmed("what_time"), quiet(2.0)))
    assert detector.calls >= 2  # asked at the pause, and again as the silence grew
    (paused,) = of(events, SpeechPaused)
    assert paused.probability == pytest.approx(0.4)
    assert of(events, SpeculationStarted) and not of(events, SpeculationDiscarded)
    assert of(events, TurnStarted)[0].speculative
    (started,) = of(events, ToolCallStarted)
    assert started.speculative  # the read-only call ran while the end was still undecided
    assert counter.calls == [{"tool": "weather", "city": "Rome"}]
    assert len(server.requests) == 2 and not server.rejections


async def test_speech_after_a_detectors_likely_end_discards_the_speculation() -> None:
    counter = Counter()
    async with ScriptedModel(default=lambda request: Reply.text("ok")) as model:
        agent = Agent(
            model,
            tools=make_tools(counter),
            voice=VoiceSettings(turn_detector=Unsure()),
        )
        async with agent:
            person = Person(trimmed("what_time"), quiet(0.3), trimmed("no"), quiet(2.0))
            events = await collect(agent, person)
    assert len(of(events, SpeculationDiscarded)) == 1
    assert len(user_turns(agent)) == 1 and len(of(events, TurnCompleted)) == 1
