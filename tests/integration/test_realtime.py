"""RealtimeTranscriber against the REAL vLLM CPU server with a tiny random-weight Voxtral Realtime.

The model's text is junk, but the protocol, the error codes and the timing behaviour are vLLM's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from voxagent.audio import AudioFile
from voxagent.errors import RealtimeError
from voxagent.events import TranscriptDelta, TranscriptFinal
from voxagent.realtime.protocol import RealtimeModelNotFoundError
from voxagent.realtime.transcriber import (
    RealtimeEvent,
    RealtimeTranscriber,
    mistral_realtime_transcriber,
)
from voxagent.testing.realtime_server import TcpRelay

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

AUDIO = Path(__file__).resolve().parents[2] / "examples" / "audio"
WAV = AUDIO / "kitchen_light_on.wav"


def check(events: list[RealtimeEvent]) -> str:
    """Deltas (never empty) then exactly one final transcript equal to their concatenation."""
    *deltas, final = events
    assert isinstance(final, TranscriptFinal)
    assert all(isinstance(d, TranscriptDelta) and d.text for d in deltas)
    assert "".join(d.text for d in deltas if isinstance(d, TranscriptDelta)) == final.text
    return final.text


async def test_file_streamed_in_real_time(vllm_realtime_server: Any) -> None:
    server = vllm_realtime_server
    async with RealtimeTranscriber(server.base_url, server.model) as rt:
        events = [e async for e in rt.transcribe(AudioFile(WAV, realtime=True))]
    text = check(events)
    assert text  # random weights still emit tokens for every 80 ms of audio
    t = rt.last_timings
    assert t is not None and t.first_delta is not None and t.first_audio is not None
    assert t.first_delta > t.first_audio and t.reconnects == 0


async def test_file_streamed_as_fast_as_possible_twice_on_one_connection(
    vllm_realtime_server: Any,
) -> None:
    server = vllm_realtime_server
    async with RealtimeTranscriber(server.base_url, server.model) as rt:
        first = [e async for e in rt.transcribe(AudioFile(WAV))]
        second = [e async for e in rt.transcribe(AudioFile(AUDIO / "what_time.wav"))]
    assert rt.connections_opened == 1  # the same connection served both utterances
    assert check(first) and check(second)
    # temperature 0: the same audio again gives the same transcript on the same connection
    async with RealtimeTranscriber(server.base_url, server.model) as rt:
        again = await rt.transcribe_text(AudioFile(WAV))
    assert again == check(first)


class Mutating:
    """A real websocket whose outgoing messages pass through `mutate` (None drops one)."""

    def __init__(self, ws: Any, mutate: Callable[[dict[str, Any]], str | None]) -> None:
        self.ws = ws
        self.mutate = mutate

    async def send(self, message: str) -> None:
        changed = self.mutate(json.loads(message))
        if changed is not None:
            await self.ws.send(changed)

    async def recv(self) -> str | bytes:
        return await self.ws.recv()  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.ws.close()


def first_append(change: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
    done = False

    def mutate(message: dict[str, Any]) -> str:
        nonlocal done
        if message["type"] == "input_audio_buffer.append" and not done:
            done = True
            return change(message)
        return json.dumps(message)

    return mutate


def drop_session_update(message: dict[str, Any]) -> str | None:
    return None if message["type"] == "session.update" else json.dumps(message)


def no_model(message: dict[str, Any]) -> str:
    message.pop("model", None)
    return json.dumps(message)


MUTATIONS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "invalid_json": first_append(lambda m: "{not json"),
    "unknown_event": first_append(lambda m: json.dumps({**m, "type": "input_audio_buffer.bogus"})),
    "invalid_audio": first_append(lambda m: json.dumps({**m, "audio": "QQ=="})),  # 1 byte
    "processing_error": first_append(lambda m: json.dumps({**m, "audio": 12})),
    "model_not_validated": drop_session_update,
    "invalid_event": no_model,
}


@pytest.mark.parametrize("code", sorted(MUTATIONS))
async def test_each_server_error_code_is_a_typed_error(
    vllm_realtime_server: Any, code: str
) -> None:
    from websockets.asyncio.client import connect as real_connect

    async def connect(url: str, **options: Any) -> Mutating:
        return Mutating(await real_connect(url, **options), MUTATIONS[code])

    server = vllm_realtime_server
    with pytest.raises(RealtimeError) as caught:
        async with RealtimeTranscriber(
            server.base_url, server.model, connect=connect, done_timeout=20
        ) as rt:
            await rt.transcribe_text(AudioFile(WAV))
    assert caught.value.code == code
    assert caught.value.hint and caught.value.server_message


async def test_wrong_model_is_model_not_found(vllm_realtime_server: Any) -> None:
    server = vllm_realtime_server
    with pytest.raises(RealtimeModelNotFoundError) as caught:
        async with RealtimeTranscriber(server.base_url, "no-such-model", done_timeout=20) as rt:
            await rt.transcribe_text(AudioFile(WAV))
    assert caught.value.code == "model_not_found"


async def test_dropped_connection_is_recovered(vllm_realtime_server: Any) -> None:
    server = vllm_realtime_server
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    async with TcpRelay(port) as relay:
        async with RealtimeTranscriber(relay.base_url(), server.model, reconnect_delay=0.1) as rt:
            events: list[RealtimeEvent] = []
            async for event in rt.transcribe(AudioFile(WAV, realtime=True)):
                events.append(event)
                if len(events) == 2:
                    relay.cut()
    assert relay.accepted == 2
    assert rt.last_timings is not None and rt.last_timings.reconnects == 1
    *deltas, final = events
    assert isinstance(final, TranscriptFinal) and final.text
    # The replayed audio is transcribed again from its first sample (temperature 0, so the same
    # text): the captions shown before the cut are not repeated, and they add up to the final.
    shown = "".join(d.text for d in deltas if isinstance(d, TranscriptDelta))
    assert shown == final.text


@pytest.mark.skipif(
    not os.environ.get("MISTRAL_API_KEY"), reason="talks to api.mistral.ai: set MISTRAL_API_KEY"
)
async def test_hosted_realtime_api_live() -> None:
    # Never in CI (no key there); the offline checks of the same messages are in tests/unit.
    rt = mistral_realtime_transcriber(os.environ["MISTRAL_API_KEY"])
    async with rt:
        events = [e async for e in rt.transcribe(AudioFile(WAV, realtime=True))]
    final = events[-1]
    assert isinstance(final, TranscriptFinal)
    assert "kitchen" in final.text.lower()


@pytest.mark.skipif(
    not os.environ.get("MISTRAL_API_KEY"), reason="talks to api.mistral.ai: set MISTRAL_API_KEY"
)
async def test_hosted_realtime_turn_detection_live() -> None:
    # Voxtral 3: server-side turn detection, settings sent before the first audio chunk.
    rt = mistral_realtime_transcriber(
        os.environ["MISTRAL_API_KEY"], language="en", turn_detection={}
    )
    async with rt:
        text = await rt.transcribe_text(AudioFile(WAV, realtime=True))
    assert "kitchen" in text.lower()
    kinds = [turn.kind for turn in rt.last_turns]
    assert kinds and kinds[0] == "start", rt.last_turns
