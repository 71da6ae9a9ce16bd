"""`Agent.listen`: utterances become turns; barge-in; spoken confirmation; the speaker hook."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import anyio
import numpy as np
import pytest
import soundfile as sf

from voxagent import Agent, VoiceSettings
from voxagent.audio import ArraySource
from voxagent.events import (
    AssistantTextDelta,
    ConfirmationRequested,
    Event,
    SpeechEnded,
    SpeechStarted,
    ToolCallFinished,
    TurnCancelled,
    TurnCompleted,
    TurnStarted,
)
from voxagent.testing import Reply, ScriptedModel, ScriptedServer
from voxagent.tools import tool

from .conftest import EXAMPLES, Home, set_light, unlock_door

pytestmark = pytest.mark.anyio

RATE = 16000


def spoken(*names: str, gap: float = 1.2) -> np.ndarray[Any, Any]:
    """The example clips one after the other, `gap` seconds of silence between and after."""
    parts: list[np.ndarray[Any, Any]] = []
    for name in names:
        samples, rate = sf.read(EXAMPLES / f"{name}.wav", dtype="float32")
        assert rate == RATE
        parts += [samples, np.zeros(int(gap * RATE), dtype=np.float32)]
    return np.concatenate(parts)


async def collect(agent: Agent[Any], source: ArraySource) -> list[Event]:
    events: list[Event] = []
    async with contextlib.aclosing(agent.listen(source)) as stream:
        async for event in stream:
            events.append(event)
    return events


async def test_each_utterance_becomes_a_turn_and_listening_ends_with_the_source(
    home: Home,
) -> None:
    async with ScriptedModel(
        [
            Reply.tool_call("set_light", {"room": "kitchen", "on": True}),
            Reply.text("Kitchen on."),
            Reply.text("Bedroom off."),
        ]
    ) as model:
        async with Agent(model, tools=[set_light], deps=home) as agent:
            events = await collect(agent, ArraySource(spoken("kitchen_light_on", "no"), RATE))
    assert model.errors == []
    assert home.lights == {"kitchen": True}
    starts = [e for e in events if isinstance(e, SpeechStarted)]
    ends = [e for e in events if isinstance(e, SpeechEnded)]
    done = [e for e in events if isinstance(e, TurnCompleted)]
    assert len(starts) == len(ends) == len(done) == 2
    assert [e.text for e in done] == ["Kitchen on.", "Bedroom off."]
    assert "endpointing" in done[0].timings
    # Each request carries the new utterance as audio.
    assert (
        sum(
            1
            for m in model.requests[2]["messages"]
            if m["role"] == "user" and isinstance(m["content"], list)
            for part in m["content"]
            if part.get("type") == "input_audio"
        )
        == 2
    )


def audio_parts(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        part
        for m in request["messages"]
        if m["role"] == "user" and isinstance(m["content"], list)
        for part in m["content"]
        if part.get("type") == "input_audio"
    ]


async def test_a_barge_in_before_the_turn_acted_takes_it_back_and_both_become_one_turn() -> None:
    # The first answer is slow: the user goes on speaking before anything was said or done.
    audio = spoken("kitchen_light_on", "what_time")
    async with ScriptedModel(
        [Reply.text("too late", delay=10.0), Reply.text("It is noon.")]
    ) as model:
        async with Agent(model, voice=VoiceSettings(barge_in="cancel")) as agent:
            events = await collect(agent, ArraySource(audio, RATE, realtime=True))
            history = agent.conversation.turns
    cancelled = [e for e in events if isinstance(e, TurnCancelled)]
    done = [e for e in events if isinstance(e, TurnCompleted)]
    assert [(e.reason, e.continued) for e in cancelled] == [("barge-in", True)]
    assert [e.text for e in done] == ["It is noon."]
    assert [e.while_busy for e in events if isinstance(e, SpeechStarted)] == [False, True]
    assert model.errors == []
    # One user turn holding both utterances (the pause between them at most 1 s), one answer.
    assert [type(t).__name__ for t in history] == ["UserTurn", "AssistantTurn"]
    first, second = (e for e in events if isinstance(e, SpeechEnded))
    clip = history[0].audio  # type: ignore[union-attr]
    assert clip is not None and clip.duration_s == pytest.approx(second.duration, abs=0.001)
    assert first.duration + 0.5 < second.duration <= first.duration + 1.0 + 2.0
    # The taken-back request sent the first utterance; the answered one sends the joined clip.
    assert [len(audio_parts(r)) for r in model.requests] == [1, 1]
    assert [m["role"] for m in model.requests[-1]["messages"]] == ["user"]


async def test_a_barge_in_after_the_turn_said_something_keeps_both_turns() -> None:
    audio = spoken("kitchen_light_on", "what_time")
    # The first answer streams slowly: its first words are out when the user speaks again.
    slow = Reply.text("The kitchen light is now on, and " + "more " * 40, chunk_delay=0.1)
    async with ScriptedModel([slow, Reply.text("It is noon.")]) as model:
        async with Agent(model, voice=VoiceSettings(barge_in="cancel")) as agent:
            events = await collect(agent, ArraySource(audio, RATE, realtime=True))
            history = agent.conversation.turns
    assert model.errors == []
    assert [(e.reason, e.continued) for e in events if isinstance(e, TurnCancelled)] == [
        ("barge-in", False)
    ]
    assert any(isinstance(e, AssistantTextDelta) for e in events)
    # The cut answer stays as said; the new utterance is a turn of its own.
    assert [type(t).__name__ for t in history] == [
        "UserTurn",
        "AssistantTurn",
        "UserTurn",
        "AssistantTurn",
    ]
    assert [m["role"] for m in model.requests[-1]["messages"]] == ["user", "assistant", "user"]


async def test_a_read_only_tool_does_not_stop_a_turn_being_taken_back(home: Home) -> None:
    looked: list[str] = []

    @tool(read_only=True)
    async def light_status(room: str) -> str:
        """Say whether a room's light is on."""
        looked.append(room)
        return "off"

    audio = spoken("kitchen_light_on", "what_time")
    async with ScriptedModel(
        [
            Reply.tool_call("light_status", {"room": "kitchen"}),
            Reply.text("too late", delay=10.0),
            Reply.text("It is noon."),
        ]
    ) as model:
        async with Agent(model, tools=[light_status], deps=home) as agent:
            events = await collect(agent, ArraySource(audio, RATE, realtime=True))
            history = agent.conversation.turns
    assert model.errors == []
    assert looked == ["kitchen"]
    assert [e.continued for e in events if isinstance(e, TurnCancelled)] == [True]
    # The read-only round went with the turn taken back: the model is asked afresh.
    assert [type(t).__name__ for t in history] == ["UserTurn", "AssistantTurn"]
    assert [m["role"] for m in model.requests[-1]["messages"]] == ["user"]


async def test_barge_in_queue_answers_both_turns_in_order() -> None:
    audio = spoken("kitchen_light_on", "what_time")
    async with ScriptedModel([Reply.text("first", delay=3.0), Reply.text("second")]) as model:
        async with Agent(model, voice=VoiceSettings(barge_in="queue")) as agent:
            events = await collect(agent, ArraySource(audio, RATE, realtime=True))
    assert model.errors == []
    assert not [e for e in events if isinstance(e, TurnCancelled)]
    assert [e.text for e in events if isinstance(e, TurnCompleted)] == ["first", "second"]
    assert [e.while_busy for e in events if isinstance(e, SpeechStarted)] == [False, True]
    turn_ids = [e.turn_id for e in events if isinstance(e, TurnStarted)]
    assert turn_ids == sorted(turn_ids) and len(turn_ids) == 2


@pytest.mark.parametrize(("answer", "unlocked"), [("yes", True), ("no", False)])
async def test_spoken_confirmation_is_asked_spoken_and_classified_by_the_model(
    home: Home, answer: str, unlocked: bool
) -> None:
    spoken_texts: list[str] = []

    async def speaker(text: str) -> None:
        spoken_texts.append(text)

    audio = spoken("unlock_door", answer, gap=1.5)
    async with ScriptedModel(
        [
            Reply.tool_call("unlock_door", {}),
            Reply.tool_call("record_reply", {"answer": answer}),  # the yes/no classification
            Reply.text("Done." if unlocked else "Left locked."),
        ]
    ) as model:
        async with Agent(
            model,
            tools=[unlock_door],
            deps=home,
            voice=VoiceSettings(speaker=speaker),
        ) as agent:
            events = await collect(agent, ArraySource(audio, RATE, realtime=True))
    assert model.errors == []
    assert home.unlocked is unlocked
    [question] = [e for e in events if isinstance(e, ConfirmationRequested)]
    assert question.question == "Run unlock_door()? Say yes or no."
    assert spoken_texts == [question.question, "Done." if unlocked else "Left locked."]
    # The reply went to the classifier (a forced enum tool call), not into the conversation.
    classify = model.requests[1]
    assert classify["tool_choice"] == {"type": "function", "function": {"name": "record_reply"}}
    assert len([e for e in events if isinstance(e, TurnStarted)]) == 1
    [finished] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished.is_error is (not unlocked)


async def test_live_captions_stream_while_speaking_and_become_the_turn_transcript() -> None:
    from voxagent.events import TranscriptDelta, TranscriptFinal
    from voxagent.realtime.transcriber import RealtimeTranscriber
    from voxagent.testing.realtime_server import RealtimeTestServer

    audio = spoken("kitchen_light_on")
    async with RealtimeTestServer(script=[[" turn", " on", " the", " kitchen", " light"]]) as rt:
        transcriber = RealtimeTranscriber(rt.base_url, rt.model)
        async with ScriptedServer([Reply.text("On.", delay=0.5)]) as server:
            async with Agent(
                base_url=server.base_url, voice=VoiceSettings(live_transcriber=transcriber)
            ) as agent:
                events = await collect(agent, ArraySource(audio, RATE, realtime=True))
                [user] = [t for t in agent.conversation.turns if type(t).__name__ == "UserTurn"]
    deltas = [e.text for e in events if isinstance(e, TranscriptDelta)]
    [final] = [e.text for e in events if isinstance(e, TranscriptFinal)]
    assert "".join(deltas) == final == " turn on the kitchen light"
    # Captions arrive while the user speaks: the first delta comes before speech ends.
    kinds = [type(e) for e in events]
    assert kinds.index(TranscriptDelta) < kinds.index(SpeechEnded)
    assert user.transcript == final
    assert server.transcriptions == []  # no extra transcription request was needed


async def test_a_turn_taken_back_keeps_both_live_captions_as_its_transcript() -> None:
    from voxagent.realtime.transcriber import RealtimeTranscriber
    from voxagent.testing.realtime_server import RealtimeTestServer

    audio = spoken("kitchen_light_on", "what_time")
    captions = [[" turn", " on", " the", " kitchen", " light"], [" what", " time", " is", " it"]]
    async with RealtimeTestServer(script=captions) as rt:
        transcriber = RealtimeTranscriber(rt.base_url, rt.model)
        async with ScriptedModel(
            [Reply.text("too late", delay=10.0), Reply.text("It is noon.")]
        ) as model:
            async with Agent(model, voice=VoiceSettings(live_transcriber=transcriber)) as agent:
                events = await collect(agent, ArraySource(audio, RATE, realtime=True))
                users = [t for t in agent.conversation.turns if type(t).__name__ == "UserTurn"]
    assert [e.continued for e in events if isinstance(e, TurnCancelled)] == [True]
    [user] = users
    assert user.transcript == "turn on the kitchen light what time is it"  # type: ignore[attr-defined]


async def test_an_utterance_cancelled_before_its_turn_began_is_not_lost() -> None:
    # An ask() from elsewhere holds the agent: the first utterance's turn waits for it, and the
    # user goes on speaking meanwhile. Its audio must reach the model with what followed.
    audio = spoken("kitchen_light_on", "what_time")

    def answer(request: dict[str, Any]) -> Reply:
        if request["messages"][-1]["content"] == "typed":
            return Reply.text("Typed answer.", delay=6.0)
        return Reply.text("It is noon.")

    async with ScriptedModel(default=answer) as model:
        async with Agent(model, voice=VoiceSettings(barge_in="cancel")) as agent:
            async with anyio.create_task_group() as tg:
                tg.start_soon(functools.partial(agent.ask, text="typed"))
                await anyio.sleep(0.1)
                events = await collect(agent, ArraySource(audio, RATE, realtime=True))
            history = agent.conversation.turns
    assert model.errors == []
    assert [e.continued for e in events if isinstance(e, TurnCancelled)] == [True]
    assert [e.text for e in events if isinstance(e, TurnCompleted)] == ["It is noon."]
    first, second = (e for e in events if isinstance(e, SpeechEnded))
    spoken_turns = [t for t in history if type(t).__name__ == "UserTurn" and t.audio is not None]  # type: ignore[union-attr]
    [user] = spoken_turns
    assert user.audio.duration_s == pytest.approx(second.duration, abs=0.001)  # type: ignore[union-attr]
    assert second.duration > first.duration + 0.5


async def test_a_turn_taken_back_is_recorded_again_when_listening_stops_before_its_sequel() -> None:
    audio = spoken("kitchen_light_on", "what_time")
    events: list[Event] = []
    async with ScriptedModel([Reply.text("too late", delay=10.0)]) as model:
        async with Agent(model) as agent:
            source = ArraySource(audio, RATE, realtime=True)
            async with contextlib.aclosing(agent.listen(source)) as stream:
                async for event in stream:
                    events.append(event)
                    if isinstance(event, TurnCancelled):
                        break  # the app stops listening while the user is still speaking
            history = agent.conversation.turns
    assert [e.continued for e in events if isinstance(e, TurnCancelled)] == [True]
    [first] = [e for e in events if isinstance(e, SpeechEnded)]
    [user] = history  # what the user said first is in the conversation, unanswered
    assert user.audio is not None  # type: ignore[union-attr]
    assert user.audio.duration_s == pytest.approx(first.duration, abs=0.001)  # type: ignore[union-attr]


async def test_a_failure_to_take_a_turn_back_leaves_it_as_cut_and_listening_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from voxagent.conversation import Conversation

    def broken(self: Conversation, turn: Any) -> None:
        raise RuntimeError("a bug in withdraw")

    monkeypatch.setattr(Conversation, "withdraw", broken)
    audio = spoken("kitchen_light_on", "what_time")
    async with ScriptedModel(
        [Reply.text("too late", delay=10.0), Reply.text("It is noon.")]
    ) as model:
        async with Agent(model, voice=VoiceSettings(barge_in="cancel")) as agent:
            events = await collect(agent, ArraySource(audio, RATE, realtime=True))
    assert [e.continued for e in events if isinstance(e, TurnCancelled)] == [False]
    assert [e.text for e in events if isinstance(e, TurnCompleted)] == ["It is noon."]
    assert [m["role"] for m in model.requests[-1]["messages"]] == ["user", "user"]
    assert "could not take back a cancelled turn" in caplog.text
