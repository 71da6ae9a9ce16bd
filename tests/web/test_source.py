"""`WebSocketSource`: the Microphone contract for audio that arrives over a websocket."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import numpy as np
import pytest

from voxagent.audio import Frame, utterances
from voxagent.audio.convert import float_to_pcm16
from voxagent.errors import AudioError, ConfigurationError
from voxagent.web import WebSocketSource

pytestmark = pytest.mark.anyio


def _pcm(samples: int, value: float = 0.25) -> bytes:
    return float_to_pcm16(np.full(samples, value, dtype=np.float32))


async def _fed(source: WebSocketSource, *messages: bytes) -> list[Frame]:
    """Iterate `source` while the messages arrive and the client then leaves."""
    got: list[Frame] = []

    async def consume() -> None:
        async for frame in source:
            got.append(frame)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        # The iteration is running, as listen() is before audio comes.
        await anyio.lowlevel.checkpoint()
        for message in messages:
            source.feed(message)
        source.close()
    return got


async def test_messages_become_20_ms_frames_with_stream_time_from_sample_counts() -> None:
    source = WebSocketSource(queue_frames=16)
    # 960 samples in messages that do not line up with frames.
    frames = await _fed(source, *(_pcm(size) for size in (100, 500, 300, 60)))
    assert [f.samples.size for f in frames] == [320, 320, 320]
    assert [f.start for f in frames] == [0.0, 0.02, 0.04]
    assert all(f.dropped == 0 for f in frames)
    assert frames[0].samples.dtype == np.float32
    assert np.allclose(frames[0].samples, 0.25, atol=1e-4)


async def test_a_short_tail_is_delivered_when_the_client_leaves() -> None:
    frames = await _fed(WebSocketSource(), _pcm(400))
    assert [f.samples.size for f in frames] == [320, 80]
    assert frames[1].start == pytest.approx(0.02)


async def test_overflow_drops_messages_and_the_next_frame_reports_them() -> None:
    # The receive loop never waits: past the queue, messages are dropped and counted.
    source = WebSocketSource(queue_frames=2)
    for _ in range(5):
        source.feed(_pcm(320))
    assert source.dropped_frames == 3
    source.feed(b"")  # nothing: neither queued nor counted
    frames = await _fed(source)
    # Reported on the first frame read after the drops, as Microphone does (a drop is seen
    # when the queue is read); stream time moves on by the 60 ms that were lost.
    assert [f.dropped for f in frames] == [3, 0]
    assert [f.start for f in frames] == [pytest.approx(0.06), pytest.approx(0.08)]
    assert source.dropped_frames == 3


async def test_overflow_is_reported_as_audio_overflow_by_segment() -> None:
    from voxagent.audio import segment
    from voxagent.events import AudioOverflow

    source = WebSocketSource(queue_frames=1)
    for _ in range(4):
        source.feed(_pcm(320, 0.0))
    events = []

    async def consume() -> None:
        async for event in segment(source):
            events.append(event)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await anyio.sleep(0.01)
        source.close()
    assert AudioOverflow(dropped_frames=3, total_dropped=3) in events


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"\x00" * 16_002, "over the limit of 16000 bytes"), (b"\x00" * 3, "not a whole number")],
)
async def test_oversized_or_cut_messages_are_refused_and_nothing_is_kept(
    data: bytes, words: str
) -> None:
    source = WebSocketSource()
    with pytest.raises(AudioError, match=words):
        source.feed(data)
    assert await _fed(source) == []


async def test_iterations_follow_one_another_and_stream_time_runs_on() -> None:
    # A mode switch ends one listen() and starts the next on the same source.
    source = WebSocketSource()
    source.feed(_pcm(640))
    first = source.__aiter__()
    frame = await first.__anext__()
    assert frame.start == 0.0
    await first.aclose()  # type: ignore[attr-defined]
    rest = await _fed(source)
    assert [f.start for f in rest] == [pytest.approx(0.02)]


async def test_two_iterations_at_once_are_refused() -> None:
    source = WebSocketSource()
    first = source.__aiter__()
    source.feed(_pcm(320))
    await first.__anext__()
    with pytest.raises(ConfigurationError, match="iterated twice"):
        await source.__aiter__().__anext__()
    await first.aclose()  # type: ignore[attr-defined]
    source.close()


async def test_a_consumer_waits_for_audio_without_busy_looping() -> None:
    source = WebSocketSource()
    got = []

    async def consume() -> None:
        async for frame in source:
            got.append(frame)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await anyio.sleep(0.05)
        assert got == []
        source.feed(_pcm(320))
        await anyio.sleep(0.05)
        assert len(got) == 1
        source.close()


async def test_real_speech_fed_as_browser_frames_is_one_utterance(speech_pcm: bytes) -> None:
    source = WebSocketSource()
    found: list = []

    async def consume() -> None:
        # Silence decides (the source is under test, not the end of turn: a turn detector may
        # rightly hear "Front" as a finished turn before "center").
        async for utterance in utterances(source, detector=None):
            found.append(utterance)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await anyio.lowlevel.checkpoint()
        for i in range(0, len(speech_pcm), 640):
            source.feed(speech_pcm[i : i + 640])
            if i % (640 * 50) == 0:
                await anyio.lowlevel.checkpoint()  # the consumer keeps up, as with a paced client
        source.close()
    assert len(found) == 1
    # "Front center" starts after 0.5 s of silence and lasts about 1.4 s.
    assert 0.3 < found[0].start < 0.8
    assert 0.8 < found[0].end - found[0].start < 1.8
    assert source.dropped_frames == 0


async def test_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        WebSocketSource(queue_frames=0)
    assert WebSocketSource.live is True
