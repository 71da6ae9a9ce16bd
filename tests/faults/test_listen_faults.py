"""Live-audio faults through `Agent.listen`: a microphone unplugged mid-stream, capture overflow,
an hour of silence, and barge-in while a tool runs.

The microphone is a fake PortAudio module (`backend=`): its stream calls the callback from a thread
of its own, like PortAudio. Unplugging the device is what PortAudio does then: the callbacks stop
and `stop()`/`close()` fail with "Device unavailable".
"""

from __future__ import annotations

import contextlib
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import numpy as np
import pytest

from voxagent import Agent, VoiceSettings, tool
from voxagent.audio import ArraySource, Frame, Microphone
from voxagent.errors import AudioError
from voxagent.events import (
    AudioOverflow,
    ErrorEvent,
    Event,
    SpeechStarted,
    ToolCallFinished,
    ToolCallStarted,
    TurnCancelled,
    TurnCompleted,
)
from voxagent.loop.tools import CANCELLED_RESULT
from voxagent.testing import Reply, ScriptedServer

from .conftest import assert_next_turn_works, assert_paired, speech

pytestmark = pytest.mark.anyio

RATE = 16000


class PortAudioError(Exception):
    """What sounddevice raises (sd.PortAudioError) once the device is gone."""


class FakeStream:
    """A PortAudio input stream: `burst` blocks at once, then `paced` blocks every 5 ms."""

    def __init__(self, owner: FakeDevice, **kwargs: Any) -> None:
        self.device = owner
        self.callback = kwargs["callback"]
        self.block = kwargs["blocksize"]
        self.stopped = threading.Event()
        self.closed = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.device.streams.append(self)
        self._thread.start()

    def _run(self) -> None:
        silence = np.zeros((self.block, 1), dtype=np.float32)
        for i in range(self.device.burst + self.device.paced):
            if self.stopped.is_set():
                return
            self.callback(silence, self.block, None, None)
            if i >= self.device.burst:
                time.sleep(0.005)
        self.device.finished.set()
        # Unplugged (when `gone`): PortAudio just stops calling back.
        if not self.device.gone:
            while not self.stopped.wait(0.005):
                self.callback(silence, self.block, None, None)

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(timeout=5)
        if self.device.gone:
            raise PortAudioError("Error stopping stream: Device unavailable [PaErrorCode -9985]")

    def close(self) -> None:
        self.closed = True
        if self.device.gone:
            raise PortAudioError("Error closing stream: Device unavailable [PaErrorCode -9985]")


class FakeDevice:
    """The part of the sounddevice module that `Microphone` uses."""

    def __init__(self, *, burst: int = 0, paced: int = 0, gone: bool = False) -> None:
        self.burst = burst
        self.paced = paced
        self.gone = gone
        self.finished = threading.Event()
        self.streams: list[FakeStream] = []

    def InputStream(self, **kwargs: Any) -> FakeStream:  # mirrors sounddevice
        return FakeStream(self, **kwargs)


async def _listen(agent: Agent[Any], source: Any, events: list[Event]) -> None:
    async with contextlib.aclosing(agent.listen(source)) as stream:
        async for event in stream:
            events.append(event)


# ------------------------------------------------------------------ microphone unplugged


async def test_an_unplugged_microphone_raises_audio_error_not_port_audio_error() -> None:
    device = FakeDevice(paced=20, gone=True)
    with anyio.fail_after(10), pytest.raises(AudioError, match=r"no audio for 0\.2 s") as info:
        async for _ in Microphone(backend=device, stall_timeout_s=0.2):
            pass
    assert info.value.hint
    assert device.streams[0].stopped.is_set() and device.streams[0].closed


async def test_a_microphone_unplugged_mid_stream_ends_listen_with_a_clear_audio_error() -> None:
    device = FakeDevice(paced=40, gone=True)
    events: list[Event] = []
    async with ScriptedServer([]) as server:
        async with Agent(base_url=server.base_url) as agent:
            with anyio.fail_after(10):
                try:
                    await _listen(agent, Microphone(backend=device, stall_timeout_s=0.3), events)
                except AudioError as exc:
                    # One acceptable design: listen raises the typed error itself.
                    failure: ErrorEvent | AudioError = exc
                else:
                    # The other: listen reports it as its last event, then ends.
                    assert events and isinstance(events[-1], ErrorEvent)
                    failure = events[-1]
                    assert failure.error_type == "AudioError" and not failure.recoverable
            await assert_next_turn_works(agent, server)
    message = failure.message
    assert "microphone" in message and "\n" not in message
    assert failure.hint
    assert device.streams[0].closed
    assert server.requests and len(server.requests) == 1  # only the check turn: no stray turn


# ------------------------------------------------------------------ overflow


async def test_capture_overflow_reaches_the_listen_consumer_with_counts() -> None:
    # 200 blocks at once into a 2-frame queue: most are dropped and must be reported.
    device = FakeDevice(burst=200, paced=50)
    mic = Microphone(backend=device, queue_frames=2, stall_timeout_s=2.0)
    events: list[Event] = []
    async with ScriptedServer([]) as server:
        async with Agent(base_url=server.base_url) as agent:
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_listen, agent, mic, events)
                    while not device.finished.is_set():  # noqa: ASYNC110  # a thread-side flag
                        await anyio.sleep(0.01)
                    await anyio.sleep(0.2)  # the paced frames after the burst carry its count
                    tg.cancel_scope.cancel()  # stop listening: capture must close at once
            assert device.streams[0].closed
            await assert_next_turn_works(agent, server)
    overflows = [e for e in events if isinstance(e, AudioOverflow)]
    assert overflows
    assert all(e.dropped_frames > 0 for e in overflows)
    running = np.cumsum([e.dropped_frames for e in overflows]).tolist()
    assert [e.total_dropped for e in overflows] == running
    assert overflows[-1].total_dropped == mic.dropped_frames
    assert 0 < mic.dropped_frames < 200


# ------------------------------------------------------------------ an hour of silence


class Silence:
    """`seconds` of digital silence, as fast as the consumer takes it (built lazily)."""

    def __init__(self, seconds: float, block_ms: int = 100) -> None:
        self.block = RATE * block_ms // 1000
        self.frames = int(seconds * RATE) // self.block
        self.delivered = 0

    async def __aiter__(self) -> AsyncIterator[Frame]:
        zeros = np.zeros(self.block, dtype=np.float32)
        for i in range(self.frames):
            yield Frame(zeros, i * self.block / RATE)
            self.delivered += 1
            if i % 200 == 0:
                await anyio.lowlevel.checkpoint()  # let the rest of the agent run


async def test_an_hour_of_silence_sends_nothing_and_keeps_memory_flat() -> None:
    source = Silence(3600)
    events: list[Event] = []
    async with ScriptedServer([]) as server:
        async with Agent(base_url=server.base_url) as agent:
            tracemalloc.start()
            try:
                with anyio.fail_after(60):
                    await _listen(agent, source, events)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert len(agent.conversation.turns) == 0
            await assert_next_turn_works(agent, server)
    assert source.delivered == 36_000  # the whole hour went through the endpointer
    assert events == []
    assert len(server.requests) == 1  # only the check turn
    # 3600 s of 16 kHz float32 is 230 MB: nothing of it may be kept.
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


# ------------------------------------------------------------------ barge-in during a tool


async def test_barge_in_during_a_tool_run_cancels_it_and_the_model_is_told() -> None:
    finished: list[str] = []

    @tool(timeout=60)
    async def slow_report() -> str:
        """Prepare a long report."""
        await anyio.sleep(30)
        finished.append("slow_report")
        return "report"

    audio = speech("kitchen_light_on", "what_time")
    events: list[Event] = []
    async with ScriptedServer(
        [Reply.tool_call("slow_report", {}), Reply.text("It is noon.")]
    ) as server:
        async with Agent(
            base_url=server.base_url,
            tools=[slow_report],
            voice=VoiceSettings(barge_in="cancel", slow_tool_after=None),
        ) as agent:
            with anyio.fail_after(20):
                await _listen(agent, ArraySource(audio, RATE, realtime=True), events)
            assert agent.conversation.pending_tool_calls() == []
            await assert_next_turn_works(agent, server)
    assert finished == []
    assert server.errors == []
    assert [e.while_busy for e in events if isinstance(e, SpeechStarted)] == [False, True]
    assert [e.reason for e in events if isinstance(e, TurnCancelled)] == ["barge-in"]
    assert [e.text for e in events if isinstance(e, TurnCompleted)] == ["It is noon."]
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    [done] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [e.name for e in started] == ["slow_report"] and done.is_error
    # The second utterance's request answers the cancelled call before the new user turn.
    messages = server.requests[1]["messages"]
    assert_paired(messages)
    [result] = [m for m in messages if m["role"] == "tool"]
    assert result["content"].endswith(CANCELLED_RESULT)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "user"]
