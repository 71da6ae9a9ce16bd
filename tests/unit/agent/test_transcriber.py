"""`VoiceSettings(transcriber=...)`: who transcribes older voice messages for compaction.

The agent uses the configured transcriber (not its model) for the transcripts compaction puts in
place of old audio; a failing one leaves the placeholder and a warning, never a failed turn; an
async context manager the agent was given is opened and closed with it, except the user's own
model object; a `ModelClient` counts its entries, so one the user opened stays open.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import httpx
import numpy as np
import pytest

from voxagent import Agent, VoiceSettings
from voxagent.audio import to_clip
from voxagent.audio.clip import AudioClip
from voxagent.client import ModelClient
from voxagent.conversation import UserTurn
from voxagent.conversation.messages import UNTRANSCRIBED_TEXT, VOICE_PREFIX
from voxagent.errors import ConfigurationError, ModelError
from voxagent.interfaces import Transcriber
from voxagent.realtime import RealtimeTranscriber
from voxagent.testing import FunctionModel, Reply, ScriptedServer

pytestmark = pytest.mark.anyio

# With 2 audio items per request, the third and fourth spoken turns compact older clips.
AUDIO_TURNS = 4


class FakeTranscriber:
    """A batch transcriber that numbers its transcripts and may fail; counts its entries."""

    def __init__(self, *, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.calls: list[AudioClip] = []
        self.entered = 0
        self.exited = 0
        self.answered = 0
        self._changed = anyio.Event()

    async def __aenter__(self) -> FakeTranscriber:
        self.entered += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.exited += 1

    async def transcribe(
        self, clip: AudioClip, *, language: str | None = None, max_completion_tokens: int = 512
    ) -> str:
        self.calls.append(clip)
        try:
            if self.fail is not None:
                raise self.fail
            return f"spoken words {len(self.calls)}"
        finally:
            self.answered += 1
            self._changed.set()
            self._changed = anyio.Event()

    async def wait_answered(self, count: int) -> None:
        with anyio.fail_after(10):  # background work: a deadline, not a timing claim
            while self.answered < count:
                await self._changed.wait()


def _model(transcribe: Any = None) -> FunctionModel:
    return FunctionModel(lambda request: Reply.text("ok"), max_audio=2, transcribe=transcribe)


def _user_turns(agent: Agent[Any]) -> list[UserTurn]:
    return [turn for turn in agent.conversation.turns if isinstance(turn, UserTurn)]


def _compacted(body: dict[str, Any]) -> list[str]:
    """The texts that stand for compacted voice messages in a request."""
    texts = []
    for message in body["messages"]:
        if message["role"] != "user":
            continue
        content = message["content"]
        parts = [content] if isinstance(content, str) else [p.get("text", "") for p in content]
        texts += [t for t in parts if t.startswith((VOICE_PREFIX, UNTRANSCRIBED_TEXT))]
    return texts


async def _spoken_conversation(agent: Agent[Any], wav: Path, fake: FakeTranscriber) -> None:
    """Enough spoken turns to compact, then a text turn once the transcripts are in."""
    for _ in range(AUDIO_TURNS):
        await agent.ask(audio=wav)
    await fake.wait_answered(len(fake.calls) or 1)
    await agent.ask(text="and now?")


async def test_the_configured_transcriber_gives_the_compacted_turns_their_text(wav: Path) -> None:
    asked_model: list[AudioClip] = []

    def model_transcribes(clip: AudioClip) -> str:
        asked_model.append(clip)
        return "the model's words"

    model = _model(transcribe=model_transcribes)
    fake = FakeTranscriber()
    agent: Agent[None] = Agent(model, voice=VoiceSettings(transcriber=fake), max_audio_items=2)
    async with agent:
        await _spoken_conversation(agent, wav, fake)
    assert asked_model == []  # the model was never asked to transcribe
    assert fake.calls and all(isinstance(clip, AudioClip) for clip in fake.calls)
    texts = _compacted(model.requests[-1])
    assert texts and all(t.startswith(f"{VOICE_PREFIX} spoken words") for t in texts), texts
    assert model.errors == []


async def test_without_a_transcriber_the_model_transcribes_as_before(wav: Path) -> None:
    transcribed = anyio.Event()

    def model_transcribes(clip: AudioClip) -> str:
        transcribed.set()
        return "the model's words"

    model = _model(transcribe=model_transcribes)
    agent: Agent[None] = Agent(model, max_audio_items=2)
    async with agent:
        for _ in range(AUDIO_TURNS):
            await agent.ask(audio=wav)
        with anyio.fail_after(10):  # background work: a deadline, not a timing claim
            await transcribed.wait()  # set in the same step as the transcript it returns
        await agent.ask(text="and now?")
    assert f"{VOICE_PREFIX} the model's words" in _compacted(model.requests[-1])


@pytest.mark.parametrize(
    "failure",
    [ModelError("replica down", status_code=503), RuntimeError("a bug in the transcriber")],
    ids=["model-error", "bug"],
)
async def test_a_failing_transcriber_leaves_the_placeholder_and_a_warning(
    wav: Path, failure: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    model = _model(transcribe=lambda clip: "the model's words")
    fake = FakeTranscriber(fail=failure)
    agent: Agent[None] = Agent(model, voice=VoiceSettings(transcriber=fake), max_audio_items=2)
    with caplog.at_level(logging.WARNING, logger="voxagent.agent"):
        async with agent:
            await _spoken_conversation(agent, wav, fake)
            turns = await agent.ask(audio=wav)  # the agent goes on with audio turns too
    assert turns.text == "ok"
    texts = _compacted(model.requests[-1])
    assert texts and set(texts) == {UNTRANSCRIBED_TEXT}  # no fallback to the model either
    assert any("earlier voice message" in r.getMessage() for r in caplog.records), caplog.text
    # Nothing lost: every spoken turn is still in the conversation, with its audio.
    spoken = [t for t in _user_turns(agent) if t.audio is not None]
    assert len(spoken) == AUDIO_TURNS + 1
    assert model.errors == []


async def test_the_agent_opens_and_closes_a_transcriber_given_unopened(wav: Path) -> None:
    fake = FakeTranscriber()
    agent: Agent[None] = Agent(_model(), voice=VoiceSettings(transcriber=fake))
    async with agent:
        assert (fake.entered, fake.exited) == (1, 0)
    assert (fake.entered, fake.exited) == (1, 1)
    async with agent:  # and again when the agent starts again
        assert (fake.entered, fake.exited) == (2, 1)
    assert (fake.entered, fake.exited) == (2, 2)


async def test_the_agents_own_model_object_as_transcriber_stays_the_users() -> None:
    class Counted(FunctionModel):
        entered = 0

        async def __aenter__(self) -> Any:
            self.entered += 1
            return self

    model = Counted(lambda request: "ok", transcribe=lambda clip: "words")
    async with Agent(model, voice=VoiceSettings(transcriber=model)):
        pass
    assert model.entered == 0  # a model object is the user's to open and close


async def test_a_model_client_the_user_opened_stays_open_after_the_agent() -> None:
    async with ScriptedServer(transcripts=[Reply.text("hello there")]) as server:
        async with ModelClient(server.base_url) as transcriber:
            async with Agent(_model(), voice=VoiceSettings(transcriber=transcriber)):
                pass
            # Still open: the agent's exit was a nested one.
            clip = to_clip(np.zeros(16000, dtype=np.float32), 16000)
            assert await transcriber.transcribe(clip) == "hello there"


async def test_a_model_client_given_unopened_is_closed_with_the_agent_and_reopened() -> None:
    async with ScriptedServer(default=Reply.text("hi")) as server:
        transcriber = ModelClient(server.base_url)
        pool = transcriber._transport.http
        agent: Agent[None] = Agent(_model(), voice=VoiceSettings(transcriber=transcriber))
        async with agent:
            assert not pool.is_closed
        assert pool.is_closed  # the agent owned it: no connection pool is left behind
        async with agent:
            assert not transcriber._transport.http.is_closed  # a new pool for the new start
        assert transcriber._transport.http.is_closed


async def test_a_model_client_never_closes_an_http_client_passed_in() -> None:
    async with httpx.AsyncClient() as http:
        async with ModelClient("http://127.0.0.1:9/v1", http_client=http):
            pass
        assert not http.is_closed


def test_a_transcriber_is_one_by_type() -> None:
    fake = FakeTranscriber()
    assert isinstance(fake, Transcriber)
    assert VoiceSettings(transcriber=fake).transcriber is fake
    assert VoiceSettings().transcriber is None
    assert VoiceSettings().replace(transcriber=fake).transcriber is fake


@pytest.mark.parametrize(
    "value",
    ["http://replica:8001/v1", object(), lambda clip: "text"],
    ids=["a-url", "an-object", "a-function"],
)
def test_anything_else_is_refused_with_a_hint(value: object) -> None:
    with pytest.raises(ConfigurationError) as raised:
        VoiceSettings(transcriber=value)  # type: ignore[arg-type]
    assert "Transcriber" in raised.value.message
    assert raised.value.hint is not None and "ModelClient" in raised.value.hint


def test_a_synchronous_transcribe_is_refused() -> None:
    class Blocking:
        def transcribe(self, clip: AudioClip) -> str:
            return "text"

    with pytest.raises(ConfigurationError) as raised:
        VoiceSettings(transcriber=Blocking())  # type: ignore[arg-type]
    assert "Blocking" in raised.value.message


def test_a_live_transcriber_is_refused_with_the_place_it_belongs() -> None:
    live = RealtimeTranscriber("http://127.0.0.1:9/v1", "mistralai/Voxtral-Mini-4B-Realtime-2602")
    assert isinstance(live, Transcriber)  # a protocol check by name cannot tell them apart
    with pytest.raises(ConfigurationError) as raised:
        VoiceSettings(transcriber=live)
    assert "live" in raised.value.message
    assert raised.value.hint is not None and "live_transcriber=" in raised.value.hint
    assert VoiceSettings(live_transcriber=live).live_transcriber is live
