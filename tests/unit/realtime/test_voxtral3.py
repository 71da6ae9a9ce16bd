"""Mistral's hosted realtime API on Voxtral 3: session.updated, settings locked at the first audio
chunk, server-side turn detection; checked against the mistralai SDK's own models, offline."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mistralai.client import models as mm

from voxagent.client.dialects import MISTRAL, VLLM
from voxagent.errors import RealtimeError
from voxagent.realtime.protocol import (
    MISTRAL_REALTIME,
    VLLM_REALTIME,
    MistralRealtimeProtocol,
    ServerSessionUpdated,
    ServerTurn,
    realtime_error,
)
from voxagent.realtime.transcriber import (
    MISTRAL_REALTIME_MODEL,
    RealtimeTranscriber,
    mistral_realtime_transcriber,
)
from voxagent.testing.realtime_server import RealtimeTestServer


def test_the_hosted_models_are_voxtral_3() -> None:
    assert MISTRAL_REALTIME_MODEL == "voxtral-mini-transcribe-realtime-3"
    assert MISTRAL.transcription_model == "voxtral-mini-transcribe-3"
    assert VLLM.transcription_model is None  # a vLLM server transcribes with its own Voxtral


def test_session_settings_match_the_sdks_session_update() -> None:
    protocol = MistralRealtimeProtocol(
        language="fr",
        turn_detection={"end_threshold": 0.4, "min_silence_ms": 300},
        target_streaming_delay_ms=480,
        context_bias=("Voxtral", "voxagent"),
    )
    (update,) = protocol.session_messages("ignored: the model is in the URL")
    parsed = mm.RealtimeTranscriptionSessionUpdateMessage.model_validate(update)
    session = parsed.session
    assert session.language == "fr" and session.target_streaming_delay_ms == 480
    assert session.context_bias == ["Voxtral", "voxagent"]
    assert session.turn_detection is not None
    assert session.turn_detection.end_threshold == 0.4
    assert session.turn_detection.min_silence_ms == 300
    assert session.audio_format is not None and session.audio_format.sample_rate == 16000
    # Every field voxagent sends is one the SDK knows (no stray keys).
    known = set(mm.RealtimeTranscriptionSessionUpdatePayload.model_fields)
    assert set(update["session"]) <= known
    # Defaults send the audio format only, as before.
    (plain,) = MISTRAL_REALTIME.session_messages("x")
    assert set(plain["session"]) == {"audio_format"}


def test_sdk_built_session_updated_and_turn_events_parse() -> None:
    parse = MISTRAL_REALTIME.parse
    session = mm.RealtimeTranscriptionSession(
        request_id="r1",
        model=MISTRAL_REALTIME_MODEL,
        audio_format=mm.AudioFormat(encoding="pcm_s16le", sample_rate=16000),
    )
    updated = mm.RealtimeTranscriptionSessionUpdated(session=session)
    message = json.loads(updated.model_dump_json(by_alias=True))
    assert parse(message) == ServerSessionUpdated(message["session"])
    events: list[tuple[Any, ServerTurn]] = [
        (mm.TurnDetectionStartEvent(time_s=0.5), ServerTurn("start", 0.5)),
        (mm.TurnDetectionEagerEndEvent(time_s=1.5), ServerTurn("eager_end", 1.5)),
        (mm.TurnDetectionResumeEvent(time_s=1.7), ServerTurn("resume", 1.7)),
        (
            mm.TurnDetectionEndEvent(time_s=2.25, end_reason="timeout"),
            ServerTurn("end", 2.25, "timeout"),
        ),
    ]
    for sdk_event, expected in events:
        assert parse(json.loads(sdk_event.model_dump_json(by_alias=True))) == expected


def test_a_turn_event_without_its_time_is_a_protocol_error() -> None:
    from voxagent.errors import ProtocolError

    with pytest.raises(ProtocolError, match="time_s"):
        MISTRAL_REALTIME.parse({"type": "turn.end", "time_s": "soon"})


def test_settings_changed_after_audio_get_their_own_hint() -> None:
    error = realtime_error("3000", "Session fields cannot be changed after audio has started")
    assert "locks a session's settings at its first audio chunk" in (error.hint or "")


class HostedSocket:
    """A Voxtral 3 hosted session that answers session.update only when the test says so."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.confirm = anyio.Event()
        self._inbox, self._outbox = anyio.create_memory_object_stream[str](16)
        self._inbox.send_nowait(json.dumps({"type": "session.created", "session": {}}))

    async def send(self, message: str) -> None:
        data = json.loads(message)
        self.sent.append(data)
        if data["type"] == "session.update":

            async def later() -> None:
                await self.confirm.wait()
                await self._inbox.send(json.dumps({"type": "session.updated", "session": {}}))

            self._tg.start_soon(later)
        elif data["type"] == "input_audio.end":
            await self._inbox.send(json.dumps({"type": "transcription.done", "text": "ok"}))

    async def recv(self) -> str:
        return await self._outbox.receive()

    async def close(self) -> None:
        self._inbox.close()
        self._outbox.close()


@pytest.mark.anyio
async def test_no_audio_goes_out_before_the_session_is_confirmed(tone: Any) -> None:
    socket = HostedSocket()

    async def connect(url: str, **options: Any) -> HostedSocket:
        return socket

    result: list[str] = []
    async with anyio.create_task_group() as tg:
        socket._tg = tg  # type: ignore[attr-defined]
        rt = RealtimeTranscriber(
            "https://api.mistral.ai/v1", "m", protocol=MISTRAL_REALTIME, connect=connect
        )

        async def run() -> None:
            async with rt:  # opens the connection and waits for session.updated
                result.append(await rt.transcribe_text(tone(0.3)))

        tg.start_soon(run)
        with anyio.fail_after(10):
            while not socket.sent:  # noqa: ASYNC110  # a fake socket: nothing to wait on
                await anyio.sleep(0.01)
        await anyio.sleep(0.3)  # time enough to send audio, were it not waiting
        assert [m["type"] for m in socket.sent] == ["session.update"]  # still waiting
        socket.confirm.set()
    types = [m["type"] for m in socket.sent]
    assert types[0] == "session.update" and "input_audio.append" in types
    assert result == ["ok"]


@pytest.mark.anyio
async def test_turn_detection_events_are_kept_per_utterance(tone: Any) -> None:
    async with RealtimeTestServer(protocol="mistral", model=MISTRAL_REALTIME_MODEL) as server:
        rt = mistral_realtime_transcriber("key", base_url=server.base_url, turn_detection={})
        async with rt:
            await rt.transcribe_text(tone(0.5))
            first = list(rt.last_turns)
            await rt.transcribe_text(tone(0.3))
    assert first == [ServerTurn("start", 0.0), ServerTurn("end", 0.5, "threshold")]
    assert rt.last_turns == [ServerTurn("start", 0.0), ServerTurn("end", 0.3, "threshold")]
    updates = [m for m in server.received if m["type"] == "session.update"]
    assert len(updates) == 2 and all(u["session"]["turn_detection"] == {} for u in updates)


@pytest.mark.anyio
async def test_an_error_answering_the_session_update_fails_before_any_audio(tone: Any) -> None:
    class Refusing(HostedSocket):
        async def send(self, message: str) -> None:
            data = json.loads(message)
            self.sent.append(data)
            error = {"type": "error", "error": {"message": "Invalid language", "code": 3001}}
            await self._inbox.send(json.dumps(error))

    socket = Refusing()

    async def connect(url: str, **options: Any) -> Refusing:
        return socket

    rt = RealtimeTranscriber(
        "https://api.mistral.ai/v1", "m", protocol=MISTRAL_REALTIME, connect=connect
    )
    with pytest.raises(RealtimeError, match="Invalid language"):
        async with rt:
            await rt.transcribe_text(tone(0.3))
    assert [m["type"] for m in socket.sent] == ["session.update"]


@pytest.mark.anyio
async def test_open_weight_realtime_names_keep_working_on_vllm(tone: Any) -> None:
    model = "mistralai/Voxtral-Mini-4B-Realtime-2602"
    async with RealtimeTestServer(model=model, script=[["Hello"]]) as server:
        async with RealtimeTranscriber(server.base_url, model, protocol=VLLM_REALTIME) as rt:
            assert await rt.transcribe_text(tone(0.3)) == "Hello"
    assert server.received[0] == {"type": "session.update", "model": model}
