"""A denied call says why: in the tool result the model sees and in the events of the call."""

from __future__ import annotations

from typing import Any

import pytest

from voxagent import Agent, VoiceSettings
from voxagent.approval import ApprovalRequest, Denied
from voxagent.events import ConfirmationRequested, Event, ToolCallFinished, ToolCallStarted
from voxagent.testing import Reply, ScriptedModel, ScriptedServer

from .conftest import Home, unlock_door


async def denied_story(approval: Any) -> tuple[list[Event], ScriptedServer, Home]:
    home = Home()
    seen: list[Event] = []
    script = [Reply.tool_call("unlock_door", {}), Reply.text("Not unlocked.")]
    async with ScriptedServer(script) as server:
        agent = Agent(base_url=server.base_url, tools=[unlock_door], deps=home, approval=approval)
        async with agent:
            await agent.ask(text="unlock", on_event=seen.append)
    story = [e for e in seen if isinstance(e, ConfirmationRequested | ToolCallStarted |
                                            ToolCallFinished)]  # fmt: skip
    return story, server, home


async def broken(request: ApprovalRequest) -> bool:
    raise RuntimeError("approval service down")


async def custom(request: ApprovalRequest) -> Denied:
    return Denied("the night mode forbids it")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("approval", "reason"),
    [
        ("never", "the approval policy denies every call"),
        ("ask", "nobody can answer outside listen()"),
        (broken, "the approval callback failed (RuntimeError)"),
        (custom, "the night mode forbids it"),
    ],
)
async def test_the_reason_reaches_the_model_and_the_events(approval: Any, reason: str) -> None:
    story, server, home = await denied_story(approval)
    assert not home.unlocked
    asked, finished = story
    assert isinstance(asked, ConfirmationRequested) and isinstance(finished, ToolCallFinished)
    assert finished.error_kind == "denied" and asked.call_id == finished.call_id
    assert reason in finished.result
    assert reason in server.requests[1]["messages"][-1]["content"]
    assert server.errors == []


def test_denied_reads_as_false() -> None:
    assert not Denied("x")
    assert bool(Denied("x")) is False


@pytest.mark.anyio
async def test_no_spoken_reply_in_time_says_so() -> None:
    import numpy as np
    import soundfile as sf

    from voxagent.audio import ArraySource

    from .conftest import EXAMPLES

    samples, rate = sf.read(EXAMPLES / "unlock_door.wav", dtype="float32")
    audio = np.concatenate([samples, np.zeros(rate * 2, dtype=np.float32)])
    home = Home()
    script = [Reply.tool_call("unlock_door", {}), Reply.text("Left locked.")]
    async with ScriptedModel(script) as model:
        agent = Agent(
            model,
            tools=[unlock_door],
            deps=home,
            voice=VoiceSettings(confirm_timeout=0.3),
        )
        async with agent:
            events = [e async for e in agent.listen(ArraySource(audio, rate))]
    assert not home.unlocked
    [finished] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished.error_kind == "denied"
    assert "no spoken reply came within 0.3 s" in finished.result
    assert model.errors == []
