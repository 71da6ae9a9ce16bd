"""Live-loop fuzz: a hypothesis state machine drives `Agent.listen` against the scripted server.

Each step is one listen session over real speech (example clips, 1-3 utterances), from a source
that is live (unpaced but claiming to be a person, so speech during a turn barges in) or not (a
file: utterances take turns). Each utterance's answer is picked at random: text, a tool round
(good, invalid, confirm-gated, slow), a server fault (500, 400, a dropped stream, a 200 that is
not JSON), or a slow answer the next utterance interrupts; the consumer may leave after any
event; live captions (when the agent has them) work, fail mid-utterance or never finish.

After every step: nothing but a typed error escaped `listen`, every request the validating server
received passed, paired every tool call with one result, the conversation has no pending call,
and one more text turn is accepted.

Profiles (`VOXAGENT_LISTEN_FUZZ_PROFILE`): "ci" (default: 100 derandomised examples of 4 steps,
about two minutes on 2 cores) and "nightly" (1,000 random examples of 8 steps):

    VOXAGENT_LISTEN_FUZZ_PROFILE=nightly .venv/bin/pytest tests/faults/test_listen_fuzz.py
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from typing import Any

import anyio
import anyio.from_thread
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from voxagent import Agent, ModelSettings, VoiceSettings, tool
from voxagent.audio import ArraySource
from voxagent.errors import RealtimeError, VoxagentError
from voxagent.events import Event, TranscriptDelta, TranscriptFinal
from voxagent.testing import Reply, ScriptedServer

from .conftest import RATE, assert_paired, speech

settings.register_profile(
    "listen-ci",
    max_examples=100,
    stateful_step_count=4,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "listen-nightly",
    max_examples=1000,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
PROFILE = "listen-" + os.environ.get("VOXAGENT_LISTEN_FUZZ_PROFILE", "ci")


@tool
def set_light(room: str, on: bool) -> str:
    """Switch a light.

    Args:
        room: Which room.
        on: On or off.
    """
    return f"{room} {on}"


@tool
async def slow_timer(minutes: int) -> str:
    """Set a timer, slowly.

    Args:
        minutes: How long.
    """
    await anyio.sleep(0.4)
    return f"timer {minutes}"


@tool(confirm=True)
def unlock(door: str) -> str:
    """Unlock a door.

    Args:
        door: Which door.
    """
    return f"{door} unlocked"


ANSWERS: dict[str, list[Reply]] = {
    "text": [Reply.text("Sure.")],
    "tool": [Reply.tool_call("set_light", {"room": "kitchen", "on": True}), Reply.text("On.")],
    "bad tool": [Reply.tool_call("set_light", {"room": 3}), Reply.text("Sorry.")],
    "slow tool": [Reply.tool_call("slow_timer", {"minutes": 5}), Reply.text("Timer set.")],
    "confirm": [Reply.tool_call("unlock", {"door": "back"}), Reply.text("Done.")],
    "slow text": [Reply.text("Let me think about that for a while.", delay=0.6)],
    "500": [Reply.error(500, "boom")],
    "400": [Reply.error(400, "bad request")],
    "dropped": [Reply.drop(after_chunks=2)],
    "not json": [Reply.non_json()],
    "dropped after a call": [
        Reply.tool_calls(
            ("set_light", {"room": "bedroom", "on": False}), fault="drop", fault_after=3
        )
    ],
}
utterance = st.tuples(
    st.sampled_from(["no", "yes", "what_time", "kitchen_light_on"]),
    st.sampled_from(sorted(ANSWERS)),
)


class Harness:
    portal: anyio.from_thread.BlockingPortal
    server: ScriptedServer
    queue: deque[Reply]


CHECK = "are you there?"


def _answer(body: dict[str, Any]) -> Reply:
    if "messages" not in body:
        return Reply.text("words that were spoken")
    last = body["messages"][-1]
    if last["role"] == "user" and last["content"] == CHECK:
        # Answered by content, not from the queue: a request the agent abandoned (a cancelled
        # turn's upload still being read by the server) may reach the script at any time.
        return Reply.text("still here")
    return Harness.queue.popleft() if Harness.queue else Reply.text("fallback answer")


class Captions:
    """A live transcriber that works, fails mid-utterance, or never gives its final text."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def __aenter__(self) -> Captions:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def transcribe(self, frames: Any) -> AsyncIterator[Event]:
        async with frames:
            count = 0
            async for _ in frames:
                count += 1
                if count == 4:
                    yield TranscriptDelta("some ")
                    if self.mode == "fails":
                        raise RealtimeError("processing_error")
        if self.mode == "never finishes":
            await anyio.sleep_forever()
        yield TranscriptFinal("some words")


class LiveArray(ArraySource):
    """Unpaced, but a person speaking now: speech during a turn barges in."""

    live = True


class ListenMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        Harness.queue.clear()
        Harness.server.requests.clear()
        Harness.server.rejections.clear()
        self.checked = 0
        self.context: AbstractContextManager[Any] | None = None
        self.agent: Agent[None] | None = None

    @initialize(
        stream=st.booleans(),
        barge_in=st.sampled_from(["cancel", "queue"]),
        captions=st.sampled_from([None, None, "works", "fails", "never finishes"]),
    )
    def start(self, stream: bool, barge_in: str, captions: str | None) -> None:
        agent: Agent[None] = Agent(
            base_url=Harness.server.base_url,
            tools=[set_light, slow_timer, unlock],
            settings=ModelSettings(
                stream=stream,
            ),
            voice=VoiceSettings(
                barge_in=barge_in,  # type: ignore[arg-type]
                live_transcriber=Captions(captions) if captions else None,  # type: ignore[arg-type]
                confirm_timeout=2.0,
                slow_tool_after=0.2,
            ),
        )
        self.context = Harness.portal.wrap_async_context_manager(agent)
        self.context.__enter__()
        self.agent = agent

    def teardown(self) -> None:
        if self.context is not None:
            self.context.__exit__(None, None, None)

    @rule(
        said=st.lists(utterance, min_size=1, max_size=3),
        live=st.booleans(),
        leave_after=st.none() | st.integers(min_value=0, max_value=30),
    )
    def listen_session(
        self, said: list[tuple[str, str]], live: bool, leave_after: int | None
    ) -> None:
        agent = self.agent
        assert agent is not None
        Harness.queue.clear()
        for _, answer in said:
            Harness.queue.extend(ANSWERS[answer])
        samples = speech(*(name for name, _ in said), gap=0.9)
        source = LiveArray(samples, RATE) if live else ArraySource(samples, RATE)

        async def session() -> None:
            seen = 0
            with anyio.fail_after(60):
                async with contextlib.aclosing(agent.listen(source)) as events:
                    async for _ in events:
                        seen += 1
                        if leave_after is not None and seen > leave_after:
                            break

        try:
            Harness.portal.call(session)
        except VoxagentError as exc:
            raise AssertionError(f"listen() raised {exc!r}; only a source failure may") from exc

    @invariant()
    def every_request_was_valid_and_the_conversation_goes_on(self) -> None:
        agent = self.agent
        if agent is None:
            return
        assert agent.conversation.pending_tool_calls() == []
        # listen() returned: nothing of its session may still be running a turn.
        assert not agent._turn_lock.locked()
        Harness.queue.clear()
        turn = Harness.portal.call(lambda: agent.ask(text=CHECK))
        assert turn.text == "still here"
        assert Harness.server.errors == []
        for request in Harness.server.requests[self.checked :]:
            if "messages" in request:
                assert_paired(request["messages"])
        self.checked = len(Harness.server.requests)


@pytest.fixture(scope="module")
def harness() -> Iterator[None]:
    with anyio.from_thread.start_blocking_portal() as portal:
        server = ScriptedServer(default=_answer, seed=0)
        with portal.wrap_async_context_manager(server):
            Harness.portal, Harness.server, Harness.queue = portal, server, deque()
            yield


@pytest.mark.timeout(900)
def test_random_listen_sessions_keep_the_conversation_valid(
    harness: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functools import partial

    from hypothesis.stateful import run_state_machine_as_test

    from voxagent.client.retry import RetryPolicy

    monkeypatch.setattr(
        "voxagent.client.client.RetryPolicy", partial(RetryPolicy, base_delay=0.01, max_delay=0.02)
    )
    run_state_machine_as_test(ListenMachine, settings=settings.get_profile(PROFILE))
