"""RealtimeTranscriber against the loopback test server: the happy paths."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

from voxagent.audio import ArraySource
from voxagent.errors import ConfigurationError
from voxagent.events import TranscriptDelta, TranscriptFinal
from voxagent.realtime.transcriber import RealtimeTranscriber, print_live_captions
from voxagent.testing.realtime_server import RealtimeTestServer

pytestmark = pytest.mark.anyio


async def collect(rt: RealtimeTranscriber, source: object) -> tuple[list[str], str]:
    deltas: list[str] = []
    final = None
    async for event in rt.transcribe(source):  # type: ignore[arg-type]
        match event:
            case TranscriptDelta(text=text):
                assert final is None, "a delta came after the final transcript"
                deltas.append(text)
            case TranscriptFinal(text=text):
                final = text
    assert final is not None
    return deltas, final


async def test_two_utterances_share_one_connection(tone: Any) -> None:
    script = [["Turn", " on", " the light"], [" And", " off"]]
    async with RealtimeTestServer(script=script) as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            first = await collect(rt, tone(1.0))
            second = await collect(rt, tone(0.5))
    assert first == (["Turn", " on", " the light"], "Turn on the light")
    assert second == ([" And", " off"], " And off")
    assert server.connections == 1 and rt.connections_opened == 1
    types = [m["type"] for m in server.received]
    assert types[0] == "session.update" and server.received[0]["model"] == server.model
    commits = [m for m in server.received if m["type"] == "input_audio_buffer.commit"]
    assert [bool(m.get("final")) for m in commits] == [False, True, False, True]
    # every append lies between its utterance's plain commit and final commit
    assert types[1] == "input_audio_buffer.commit" and types[2] == "input_audio_buffer.append"


async def test_all_audio_reaches_the_server_as_pcm16() -> None:
    samples = (0.5 * np.sin(np.arange(16_000) / 7)).astype(np.float32)
    async with RealtimeTestServer() as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            await rt.transcribe_text(ArraySource(samples, 16_000))
    import base64

    pcm = b"".join(
        base64.b64decode(m["audio"]) for m in server.received if m["type"].endswith("append")
    )
    got = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    assert got.shape == samples.shape
    assert np.max(np.abs(got - samples)) < 1e-4


async def test_empty_pad_deltas_are_not_yielded(tone: Any) -> None:
    async with RealtimeTestServer(script=[["a", "b", "c"]], pad_deltas=True) as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            deltas, final = await collect(rt, tone(1.0))
    assert deltas == ["a", "b", "c"]
    assert final == "abc"


async def test_deltas_arrive_while_audio_is_still_streaming(tone: Any) -> None:
    # Default script: one delta per 80 ms of audio; a paced source proves they stream live.
    async with RealtimeTestServer() as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            seen_before_end = 0
            produced = 0

            async def counting():  # type: ignore[no-untyped-def]
                nonlocal produced
                async for frame in tone(0.6, pace=True):
                    produced += 1
                    yield frame

            async for event in rt.transcribe(counting()):
                if isinstance(event, TranscriptDelta) and produced < 30:
                    seen_before_end += 1
    assert seen_before_end >= 2


async def test_slow_server_still_delivers_everything(tone: Any) -> None:
    async with RealtimeTestServer(script=[["x", "y", "z"]], delta_delay=0.05) as server:
        async with RealtimeTranscriber(server.base_url, server.model, done_timeout=5) as rt:
            deltas, final = await collect(rt, tone(0.3))
    assert "".join(deltas) == final == "xyz"


async def test_timings_are_recorded_in_the_injected_clock(tone: Any) -> None:
    ticks = iter(range(1000))
    async with RealtimeTestServer(script=[["a", "b"]]) as server:
        async with RealtimeTranscriber(
            server.base_url, server.model, clock=lambda: float(next(ticks))
        ) as rt:
            await rt.transcribe_text(tone(0.5))
    t = rt.last_timings
    assert t is not None and t.reconnects == 0
    assert t.first_audio is not None and t.first_delta is not None and t.final_commit is not None
    assert t.first_audio < t.first_delta < t.done
    assert t.first_audio < t.final_commit < t.done


async def test_print_live_captions_writes_deltas_then_a_newline(tone: Any) -> None:
    out = io.StringIO()
    async with RealtimeTestServer(script=[["Hello", " world"]]) as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            text = await print_live_captions(tone(0.5), rt, out=out)
    assert text == "Hello world"
    assert out.getvalue() == "Hello world\n"


async def test_int16_arrays_and_pcm_bytes_are_accepted() -> None:
    async def mixed():  # type: ignore[no-untyped-def]
        yield np.full(320, 1000, dtype=np.int16)
        yield np.full(320, 1000, dtype=np.int16).tobytes()

    async with RealtimeTestServer() as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            await rt.transcribe_text(mixed())
    import base64

    pcm = b"".join(
        base64.b64decode(m["audio"]) for m in server.received if m["type"].endswith("append")
    )
    assert pcm == np.full(640, 1000, dtype="<i2").tobytes()


async def test_transcribe_needs_async_with(tone: Any) -> None:
    rt = RealtimeTranscriber("http://127.0.0.1:9/v1", "m")
    with pytest.raises(ConfigurationError, match="async with"):
        await rt.transcribe_text(tone(0.1))


async def test_one_utterance_at_a_time(tone: Any) -> None:
    async with RealtimeTestServer() as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            first = rt.transcribe(tone(0.5))
            await first.__anext__()
            with pytest.raises(ConfigurationError, match="one utterance at a time"):
                await rt.transcribe_text(tone(0.1))
            await first.aclose()  # type: ignore[attr-defined]
            # closing the abandoned utterance frees the transcriber (on a fresh connection)
            assert await rt.transcribe_text(tone(0.2)) == " w0 w1"
    assert server.connections == 2
