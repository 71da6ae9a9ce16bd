"""Wire shapes: vLLM's realtime protocol, and Mistral's checked against the mistralai SDK."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from mistralai.client import models as mm

from voxagent.errors import ProtocolError, RealtimeError
from voxagent.events import TranscriptDelta
from voxagent.realtime.protocol import (
    MISTRAL_REALTIME,
    VLLM_REALTIME,
    ServerDelta,
    ServerDone,
    ServerErrorEvent,
    ServerOther,
    ServerSessionUpdated,
    realtime_error,
)
from voxagent.realtime.transcriber import RealtimeTranscriber, mistral_realtime_transcriber
from voxagent.testing.realtime_server import RealtimeTestServer


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://127.0.0.1:8000/v1", "ws://127.0.0.1:8000/v1/realtime"),
        ("https://example.org/v1/", "wss://example.org/v1/realtime"),
        ("ws://h:1/v1", "ws://h:1/v1/realtime"),
    ],
)
def test_vllm_url(base: str, url: str) -> None:
    assert VLLM_REALTIME.url(base, "m") == url


def test_mistral_url_carries_the_model() -> None:
    url = MISTRAL_REALTIME.url("https://api.mistral.ai/v1", "voxtral-mini-transcribe-realtime-2602")
    assert url == (
        "wss://api.mistral.ai/v1/audio/transcriptions/realtime"
        "?model=voxtral-mini-transcribe-realtime-2602"
    )


def test_bad_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        VLLM_REALTIME.url("ftp://h/v1", "m")


def test_vllm_messages() -> None:
    assert VLLM_REALTIME.session_messages("m") == [{"type": "session.update", "model": "m"}]
    assert VLLM_REALTIME.start_messages() == [{"type": "input_audio_buffer.commit"}]
    append = VLLM_REALTIME.append_message(b"\x01\x00\x02\x00")
    assert append == {"type": "input_audio_buffer.append", "audio": "AQACAA=="}
    assert VLLM_REALTIME.end_messages() == [{"type": "input_audio_buffer.commit", "final": True}]


def test_vllm_parse() -> None:
    parse = VLLM_REALTIME.parse
    assert parse({"type": "transcription.delta", "delta": "hi"}) == ServerDelta("hi")
    done = parse({"type": "transcription.done", "text": "hi", "usage": {"total_tokens": 3}})
    assert done == ServerDone("hi", {"total_tokens": 3})
    assert parse(
        {"type": "error", "error": "Invalid JSON", "code": "invalid_json"}
    ) == ServerErrorEvent("invalid_json", "Invalid JSON")
    assert parse({"type": "session.created", "id": "s", "created": 1}) == ServerOther(
        "session.created"
    )
    with pytest.raises(ProtocolError, match="delta"):
        parse({"type": "transcription.delta"})
    with pytest.raises(ProtocolError, match="without a type"):
        parse(["not", "an", "object"])


def _roundtrip(model: Any, message: dict[str, Any]) -> None:
    parsed = model.model_validate(message)
    assert parsed.model_dump(by_alias=True, exclude_unset=False) == message


def test_mistral_client_messages_match_the_sdk_models() -> None:
    (update,) = MISTRAL_REALTIME.session_messages("x")
    _roundtrip(mm.RealtimeTranscriptionSessionUpdateMessage, update)
    assert update["session"]["audio_format"] == {"encoding": "pcm_s16le", "sample_rate": 16000}
    append = MISTRAL_REALTIME.append_message(b"\x00\x01" * 100)
    _roundtrip(mm.RealtimeTranscriptionInputAudioAppend, append)
    flush, end = MISTRAL_REALTIME.end_messages()
    _roundtrip(mm.RealtimeTranscriptionInputAudioFlush, flush)
    _roundtrip(mm.RealtimeTranscriptionInputAudioEnd, end)
    assert MISTRAL_REALTIME.start_messages() == []
    # the API's per-append limit (262144 decoded bytes) holds for the largest append voxagent sends
    biggest = MISTRAL_REALTIME.append_message(b"\x00" * MISTRAL_REALTIME.max_append_bytes)
    assert len(base64.b64decode(biggest["audio"])) <= 262_144


def test_mistral_parse_reads_sdk_built_server_messages() -> None:
    parse = MISTRAL_REALTIME.parse
    delta = mm.TranscriptionStreamTextDelta(text="bon").model_dump(by_alias=True)
    assert parse(delta) == ServerDelta("bon")
    usage = mm.UsageInfo(prompt_tokens=1, completion_tokens=2, total_tokens=3)
    done = mm.TranscriptionStreamDone(model="x", text="bonjour", usage=usage, language=None)
    assert parse(done.model_dump(by_alias=True)) == ServerDone(
        "bonjour", usage.model_dump(by_alias=True)
    )
    detail = mm.RealtimeTranscriptionErrorDetail(message="Invalid model", code=3001)
    error = mm.RealtimeTranscriptionError(error=detail).model_dump(by_alias=True)
    assert parse(error) == ServerErrorEvent("3001", "Invalid model")
    assert parse({"type": "session.updated", "session": {}}) == ServerSessionUpdated({})
    assert parse({"type": "session.created", "session": {}}) == ServerOther("session.created")


def test_realtime_error_has_a_hint_per_code() -> None:
    error = realtime_error("invalid_audio", "Invalid audio data")
    assert isinstance(error, RealtimeError) and error.code == "invalid_audio"
    assert "PCM16" in (error.hint or "")
    assert "Invalid audio data" in str(error)
    assert realtime_error("9999", "x").hint == "See the server's log for details."


@pytest.mark.anyio
async def test_mistral_transcriber_end_to_end_against_the_test_server(tone: Any) -> None:
    script = [["Bon", "jour"], [" encore"]]
    async with RealtimeTestServer(protocol="mistral", script=script, model="vx") as server:
        rt = mistral_realtime_transcriber("key", "vx", base_url=server.base_url)
        async with rt:
            first = [e async for e in rt.transcribe(tone(0.5))]
            second = await rt.transcribe_text(tone(0.3))
    assert first[:2] == [TranscriptDelta("Bon"), TranscriptDelta("jour")]
    assert first[-1].text == "Bonjour" and second == " encore"
    assert server.connections == 2  # hosted sessions end with input_audio.end: one per utterance
    models = {
        "session.update": mm.RealtimeTranscriptionSessionUpdateMessage,
        "input_audio.append": mm.RealtimeTranscriptionInputAudioAppend,
        "input_audio.flush": mm.RealtimeTranscriptionInputAudioFlush,
        "input_audio.end": mm.RealtimeTranscriptionInputAudioEnd,
    }
    for message in server.received:
        _roundtrip(models[message["type"]], message)
    assert [m["type"] for m in server.received][-2:] == ["input_audio.flush", "input_audio.end"]


@pytest.mark.anyio
async def test_mistral_errors_become_realtime_errors(tone: Any) -> None:
    async with RealtimeTestServer(protocol="mistral", error_after_appends=(1, "x")) as server:
        rt = RealtimeTranscriber(server.base_url, server.model, protocol=MISTRAL_REALTIME)
        with pytest.raises(RealtimeError) as caught:
            async with rt:
                await rt.transcribe_text(tone(0.3))
    assert caught.value.code == "3000"
