"""Conversation-validity fuzz: a hypothesis state machine drives an Agent against the scripted
server.

The machine picks every scripted answer (text, 0-3 tool calls per round with good, invalid,
malformed, unknown, failing and confirm-gated calls, ids of any shape), mixes text and audio turns,
server failures, cancellations while a tool runs or while the server stalls, compaction (a small
context and an audio limit of 2) and save/load. After every step every request the server received
must have passed vLLM's validation, carried at most `MAX_AUDIO` clips and paired every tool call
with exactly one result.

Profiles (`VOXAGENT_FUZZ_PROFILE`): "ci" (default: 1,000 derandomised examples) and "nightly"
(20,000 random examples):

    VOXAGENT_FUZZ_PROFILE=nightly .venv/bin/pytest tests/faults/test_fuzz.py
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.from_thread
import numpy as np
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from voxagent import Agent, ModelSettings, ToolError, tool
from voxagent.audio import encode_wav
from voxagent.audio.clip import AudioClip
from voxagent.conversation import Conversation
from voxagent.errors import ContextLengthError, ModelError
from voxagent.testing import Reply, ScriptedCall, ScriptedServer

from .conftest import assert_paired

MAX_AUDIO = 2
MAX_MODEL_LEN = 4096

settings.register_profile(
    "ci",
    max_examples=1000,
    stateful_step_count=5,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "nightly",
    max_examples=20000,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "dev",
    max_examples=int(os.environ.get("VOXAGENT_FUZZ_EXAMPLES", "30")),
    stateful_step_count=6,
    deadline=None,
    database=None,
)
PROFILE = os.environ.get("VOXAGENT_FUZZ_PROFILE", "ci")


def _clip(seconds: float) -> AudioClip:
    rng = np.random.default_rng(int(seconds * 10))
    samples = (rng.standard_normal(int(16000 * seconds)) * 0.05).astype(np.float32)
    return AudioClip(encode_wav(samples, 16000), "wav", seconds)


CLIPS = {
    "short": _clip(0.5),
    "long": _clip(31.0),
    # Never sent (refused by the budget before it is recorded); ten minutes of real silence.
    "too_long": AudioClip(encode_wav(np.zeros(16000 * 600, dtype=np.float32), 16000), "wav", 600.0),
}


# ------------------------------------------------------------ the agent's tools


class Gate:
    """Lets a cancellation rule know when the hanging tool is running."""

    entered: anyio.Event | None = None
    requested: anyio.Event | None = None


@tool
def set_light(room: Literal["kitchen", "bedroom"], on: bool) -> str:
    """Switch a light.

    Args:
        room: Which room.
        on: On or off.
    """
    return f"{room} {on}"


@tool
def broken() -> str:
    """Always fail."""
    raise ToolError("the sensor is offline")


@tool
async def hang() -> str:
    """Never finish (until cancelled)."""
    if Gate.entered is not None:
        Gate.entered.set()
    await anyio.sleep_forever()
    return "never"


@tool(confirm=True)
def unlock() -> str:
    """Unlock the door (needs approval; denied in ask)."""
    raise AssertionError("a confirm=True tool ran without approval")


TOOLS = [set_light, broken, hang, unlock]

CALLS = {
    "good": ("set_light", {"room": "kitchen", "on": True}),
    "bad_args": ("set_light", {"room": "attic", "on": "maybe"}),
    "malformed": ("set_light", '{"room": "kit'),
    "unknown": ("open_garage", {}),
    "failing": ("broken", {}),
    "confirm": ("unlock", {}),
}
call_kinds = st.sampled_from(sorted(CALLS))
call_ids = st.sampled_from([None, None, "call_1", "x", "abcdefghi", "call_0123456789abcdef", ""])
one_call = st.builds(
    lambda kind, call_id: ScriptedCall(*CALLS[kind], id=call_id), call_kinds, call_ids
)
tool_round = st.lists(one_call, min_size=1, max_size=3).map(lambda calls: Reply.tool_calls(*calls))
turn_script = st.lists(tool_round, max_size=3).map(
    lambda rounds: [*rounds, Reply.text("final answer")]
)


# ------------------------------------------------------------ the machine


class Harness:
    """The server and the event loop thread, shared by every example of the test."""

    portal: anyio.from_thread.BlockingPortal
    server: ScriptedServer
    queue: deque[Reply]
    tmp: Path


def _answer(body: dict[str, Any]) -> Reply:
    if "messages" not in body:  # a transcription request (compaction prefetch)
        return Reply.text("words that were spoken")
    if Gate.requested is not None:
        Gate.requested.set()
    return Harness.queue.popleft() if Harness.queue else Reply.text("fallback answer")


class AgentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        Harness.queue.clear()
        Harness.server.requests.clear()
        Harness.server.rejections.clear()
        self.checked = 0
        self.turns_recorded = 0
        self.agent: Agent[None] | None = None
        self.context: AbstractContextManager[Any] | None = None

    def _open(self, conversation: Conversation | None) -> None:
        agent: Agent[None] = Agent(
            base_url=Harness.server.base_url,
            tools=TOOLS,
            instructions="You control the lights.",
            max_tool_rounds=2,
            settings=ModelSettings(
                max_tokens=256,
                stream=self.stream,
            ),
            max_audio_items=MAX_AUDIO,
            conversation=conversation,
        )
        self.context = Harness.portal.wrap_async_context_manager(agent)
        self.context.__enter__()
        self.agent = agent

    @initialize(stream=st.booleans())
    def start(self, stream: bool) -> None:
        self.stream = stream
        self._open(None)

    def teardown(self) -> None:
        if self.context is not None:
            self.context.__exit__(None, None, None)

    def _ask(self, script: list[Reply], text: str | None, clip: AudioClip | None) -> None:
        assert self.agent is not None
        Harness.queue.clear()
        Harness.queue.extend(script)
        Harness.portal.call(lambda: self.agent.ask(audio=clip, text=text))  # type: ignore[union-attr]

    @rule(script=turn_script)
    def text_turn(self, script: list[Reply]) -> None:
        self._ask(script, "switch the kitchen light", None)

    @rule(script=turn_script, length=st.sampled_from(["short", "short", "long"]))
    def audio_turn(self, script: list[Reply], length: str) -> None:
        self._ask(script, None, CLIPS[length])

    @rule()
    def audio_longer_than_the_context_is_refused_before_sending(self) -> None:
        before = len(Harness.server.requests)
        with pytest.raises(ContextLengthError):
            self._ask([Reply.text("unused")], None, CLIPS["too_long"])
        assert len(Harness.server.requests) == before

    @rule(
        fault=st.sampled_from(
            [
                Reply.error(500, "boom"),
                Reply.error(400, "bad request"),
                Reply.drop(after_chunks=2),
                Reply.tool_calls(*[CALLS["good"]] * 3, fault="drop", fault_after=3),
                Reply.text("cut", fault="bad_chunk_json", fault_after=1),
            ]
        )
    )
    def server_failure(self, fault: Reply) -> None:
        if fault.fault == "bad_chunk_json" and not self.stream:
            self._ask([fault], "hello", None)  # a whole JSON answer has no chunks to break
            return
        with pytest.raises(ModelError):
            self._ask([fault], "hello", None)

    @rule(where=st.sampled_from(["tool", "server"]))
    def cancelled_turn(self, where: str) -> None:
        script = (
            [Reply.tool_calls(CALLS["good"], ("hang", {}))]
            if where == "tool"
            else [Reply.hang(after_chunks=1)]
        )
        Harness.queue.clear()
        Harness.queue.extend(script)
        agent = self.agent
        assert agent is not None

        async def cancelled() -> None:
            Gate.entered, Gate.requested = anyio.Event(), anyio.Event()
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: agent.ask(text="do the slow thing"))
                if where == "tool":
                    await Gate.entered.wait()
                else:
                    await Gate.requested.wait()
                    await anyio.sleep(0.01)  # let the first chunk arrive
                tg.cancel_scope.cancel()

        Harness.portal.call(cancelled)

    @rule()
    def save_and_load(self) -> None:
        assert self.agent is not None and self.context is not None
        path = Harness.tmp / "conversation.json"
        saved = self.agent.conversation.to_dict()
        self.agent.conversation.save(path)
        self.context.__exit__(None, None, None)
        self.context = None
        restored = Conversation.load(path)
        assert restored.to_dict() == saved  # nothing recorded is lost
        self._open(restored)

    @invariant()
    def every_request_was_valid_paired_and_within_budget(self) -> None:
        assert Harness.server.errors == []
        for request in Harness.server.requests[self.checked :]:
            messages = request["messages"]
            assert_paired(messages)
            audio = [
                part
                for m in messages
                if isinstance(m.get("content"), list)
                for part in m["content"]
                if part.get("type") == "input_audio"
            ]
            assert len(audio) <= MAX_AUDIO
        self.checked = len(Harness.server.requests)
        if self.agent is not None:
            assert self.agent.conversation.pending_tool_calls() == []


@pytest.fixture(scope="module")
def harness() -> Iterator[None]:
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        tempfile.TemporaryDirectory() as tmp,
    ):
        server = ScriptedServer(
            default=_answer, max_model_len=MAX_MODEL_LEN, max_audio=MAX_AUDIO, seed=0
        )
        with portal.wrap_async_context_manager(server):
            Harness.portal, Harness.server = portal, server
            Harness.queue, Harness.tmp = deque(), Path(tmp)
            yield


# The "ci" profile's 1,000 examples take about 3 minutes on a 2-core machine; the suite-wide 300 s
# limit is too close for a slower CI runner, so this test gets its own bound.
@pytest.mark.timeout(1200)
def test_random_conversations_stay_valid(harness: None) -> None:
    run_state_machine_as_test(AgentMachine, settings=settings.get_profile(PROFILE))
