"""RealtimeTranscriber when things go wrong: server errors, drops, silence, back-pressure."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import numpy as np
import pytest

from voxagent.errors import AudioError, ModelNotFoundError, RealtimeError, ServerUnavailableError
from voxagent.events import TranscriptDelta
from voxagent.realtime.protocol import RealtimeModelNotFoundError
from voxagent.realtime.transcriber import RealtimeTranscriber
from voxagent.testing.realtime_server import RealtimeTestServer, TcpRelay

pytestmark = pytest.mark.anyio

CODES = ["invalid_json", "invalid_event", "invalid_audio", "model_not_validated",
         "unknown_event", "processing_error"]  # fmt: skip


async def test_wrong_model_is_a_typed_model_not_found_error(tone: Any) -> None:
    async with RealtimeTestServer() as server:
        # raised out of `async with` unwrapped (no ExceptionGroup from the inner task group)
        with pytest.raises(RealtimeModelNotFoundError) as caught:
            async with RealtimeTranscriber(server.base_url, "no-such-model") as rt:
                await rt.transcribe_text(tone(0.5))
    assert isinstance(caught.value, ModelNotFoundError)
    assert caught.value.code == "model_not_found"
    assert "no-such-model" in str(caught.value) and caught.value.hint


@pytest.mark.parametrize("code", CODES)
async def test_every_server_error_code_maps_to_realtime_error(tone: Any, code: str) -> None:
    async with RealtimeTestServer(error_after_appends=(2, code)) as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            with pytest.raises(RealtimeError) as caught:
                await rt.transcribe_text(tone(1.0))
            assert caught.value.code == code
            assert caught.value.hint and "See the server's log" not in caught.value.hint
            assert caught.value.server_message == f"scripted error {code}"
            # the transcriber recovers on a fresh connection for the next utterance
            server._error_after = None
            assert await rt.transcribe_text(tone(0.2)) == " w0 w1"
    assert server.connections == 2


async def test_server_that_never_answers_times_out(tone: Any) -> None:
    async with RealtimeTestServer(never_answer=True) as server:
        async with RealtimeTranscriber(server.base_url, server.model, done_timeout=0.3) as rt:
            with pytest.raises(RealtimeError) as caught:
                await rt.transcribe_text(tone(0.3))
    assert caught.value.code == "timeout"
    assert "no final transcript" in str(caught.value)


async def test_closed_socket_reconnects_and_replays_the_utterance(tone: Any) -> None:
    script = [["one", " two", " three", " four", " five", " six", " seven", " eight"]]
    # the server closes the first connection after 0.32 s of audio
    async with RealtimeTestServer(script=script, close_after_bytes=10_240) as server:
        async with RealtimeTranscriber(server.base_url, server.model, reconnect_delay=0) as rt:
            deltas: list[str] = []
            final = ""
            async for event in rt.transcribe(tone(1.0)):
                if isinstance(event, TranscriptDelta):
                    deltas.append(event.text)
                else:
                    final = event.text
    assert server.connections == 2
    assert final == "one two three four five six seven eight"
    assert "".join(deltas) == final  # nothing shown twice after the replay
    assert rt.last_timings is not None and rt.last_timings.reconnects == 1
    # the second connection got the whole utterance again, from its first sample
    second = server.received[[m["type"] for m in server.received].index("session.update", 1) :]
    import base64

    audio = sum(len(base64.b64decode(m["audio"])) for m in second if "audio" in m)
    assert audio == 32_000


async def test_abrupt_tcp_drop_is_recovered(tone: Any) -> None:
    async with RealtimeTestServer() as server, TcpRelay(server.port) as relay:
        async with RealtimeTranscriber(relay.base_url(), server.model, reconnect_delay=0) as rt:
            deltas: list[str] = []
            final = ""
            async for event in rt.transcribe(tone(0.8, pace=True)):
                if isinstance(event, TranscriptDelta):
                    deltas.append(event.text)
                    if len(deltas) == 2:
                        relay.cut()
                else:
                    final = event.text
    assert relay.accepted == 2
    assert final == "".join(f" w{i}" for i in range(10))
    assert "".join(deltas) == final


async def test_too_many_drops_give_a_clear_error(tone: Any) -> None:
    async with RealtimeTestServer(close_after_bytes=3_000, closes=99) as server:
        async with RealtimeTranscriber(
            server.base_url, server.model, max_reconnects=2, reconnect_delay=0
        ) as rt:
            with pytest.raises(ServerUnavailableError, match="dropped 3 times") as caught:
                await rt.transcribe_text(tone(0.5))
    assert caught.value.hint
    assert server.connections == 3


async def test_drop_beyond_the_replay_window_is_an_error(tone: Any) -> None:
    async with RealtimeTestServer(close_after_bytes=20_000) as server:
        async with RealtimeTranscriber(
            server.base_url, server.model, replay_seconds=0.2, reconnect_delay=0
        ) as rt:
            with pytest.raises(ServerUnavailableError, match="replay_seconds"):
                await rt.transcribe_text(tone(1.0))


async def test_unreachable_server_fails_at_open() -> None:
    async with RealtimeTestServer() as server:
        port = server.port  # free again once the server stops
    rt = RealtimeTranscriber(f"http://127.0.0.1:{port}/v1", "m", reconnect_delay=0)
    with pytest.raises(ServerUnavailableError, match="cannot open realtime websocket") as caught:
        async with rt:
            pass
    assert caught.value.hint and "server running" in caught.value.hint


async def test_source_errors_surface_and_the_transcriber_survives(tone: Any) -> None:
    async def stereo() -> AsyncIterator[np.ndarray]:
        yield np.zeros((320, 2), dtype=np.float32)

    async with RealtimeTestServer() as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            with pytest.raises(AudioError, match="mono"):
                await rt.transcribe_text(stereo())
            assert await rt.transcribe_text(tone(0.2)) == " w0 w1"


class BlockedSocket:
    """A websocket whose sends never complete, like a peer that stopped reading."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.gate = anyio.Event()

    async def send(self, message: str) -> None:
        self.sent.append(message)
        if json.loads(message)["type"] == "input_audio_buffer.append":
            await self.gate.wait()

    async def recv(self) -> str:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        self.gate.set()


async def test_back_pressure_bounds_what_is_pulled_from_the_source() -> None:
    socket = BlockedSocket()
    produced = 0

    async def endless() -> AsyncIterator[np.ndarray]:
        nonlocal produced
        while True:
            produced += 1
            yield np.zeros(320, dtype=np.float32)
            await anyio.lowlevel.checkpoint()

    async def connect(url: str, **_: Any) -> BlockedSocket:
        return socket

    async with RealtimeTranscriber(
        "http://test/v1", "m", connect=connect, send_queue_frames=8
    ) as rt:
        with anyio.move_on_after(0.5):
            await rt.transcribe_text(endless())
    # 8 queued + at most 1 s coalesced into the blocked append (50 frames) + 1 in the pump's hand
    assert 8 < produced <= 8 + 50 + 2
    assert all(isinstance(m, str) for m in socket.sent)  # text frames only, never binary
