"""`Microphone` against a fake sounddevice: thread handoff, conversion, overflow, errors, close."""

from __future__ import annotations

import threading
import time
from contextlib import aclosing
from typing import Any

import anyio
import numpy as np
import pytest

from voxagent.audio import Microphone, list_input_devices, segment
from voxagent.errors import AudioError
from voxagent.events import AudioOverflow

pytestmark = pytest.mark.anyio


class FakeStream:
    """Calls the callback from its own thread, like PortAudio, with a 440 Hz tone."""

    def __init__(self, backend: FakeSoundDevice, **kwargs: Any) -> None:
        self.backend = backend
        self.kwargs = kwargs
        self.rate = kwargs["samplerate"]
        self.channels = kwargs["channels"]
        self.block = kwargs["blocksize"]
        self.stopped = threading.Event()
        self.closed = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        if self.backend.open_error is not None:
            raise self.backend.open_error
        self.backend.streams.append(self)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        for _ in range(self.backend.blocks):
            if self.stopped.is_set():
                return
            t = (n + np.arange(self.block)) / self.rate
            mono = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            block = np.repeat(mono[:, None], self.channels, axis=1)
            started = time.perf_counter()
            self.kwargs["callback"](block, self.block, None, None)
            self.backend.callback_seconds.append(time.perf_counter() - started)
            n += self.block
            if self.backend.pace:
                time.sleep(self.backend.pace)

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(timeout=5)

    def close(self) -> None:
        self.closed = True


class FakeSoundDevice:
    """The subset of the sounddevice module that Microphone uses."""

    def __init__(self, blocks: int = 100, pace: float = 0.0) -> None:
        self.blocks = blocks
        self.pace = pace
        self.streams: list[FakeStream] = []
        self.callback_seconds: list[float] = []
        self.open_error: Exception | None = None
        self.default = type("Default", (), {"device": (1, 0)})()

    def InputStream(self, **kwargs: Any) -> FakeStream:  # mirrors sounddevice
        return FakeStream(self, **kwargs)

    def query_devices(self) -> list[dict[str, Any]]:
        return [
            {"name": "speakers", "max_input_channels": 0, "default_samplerate": 48000.0},
            {"name": "pulse", "max_input_channels": 32, "default_samplerate": 44100.0},
        ]


async def test_frames_are_16k_mono_with_counted_time() -> None:
    fake = FakeSoundDevice(blocks=50, pace=0.001)
    mic = Microphone(sample_rate=48000, channels=2, backend=fake, stall_timeout_s=1.0)
    frames = []
    with anyio.fail_after(10):
        async with aclosing(aiter(mic)) as stream_frames:
            async for frame in stream_frames:
                frames.append(frame)
                if len(frames) == 40:
                    break
    stream = fake.streams[0]
    assert stream.kwargs["samplerate"] == 48000 and stream.kwargs["channels"] == 2
    assert stream.kwargs["blocksize"] == 960
    assert all(f.samples.size == 320 and f.samples.dtype == np.float32 for f in frames)
    assert [f.start for f in frames[:3]] == pytest.approx([0.0, 0.02, 0.04])
    audio = np.concatenate([f.samples for f in frames[5:]])
    peak = np.fft.rfftfreq(audio.size, 1 / 16000)[np.argmax(np.abs(np.fft.rfft(audio)))]
    assert peak == pytest.approx(440, abs=3)
    assert stream.stopped.is_set() and stream.closed  # aclosing() closed it at once


async def test_breaking_out_closes_the_stream_when_the_generator_is_finalized() -> None:
    fake = FakeSoundDevice(blocks=10_000, pace=0.002)
    async for _ in Microphone(backend=fake):
        break
    with anyio.fail_after(5):
        while not fake.streams[0].closed:  # noqa: ASYNC110  # polls a plain thread-side flag
            await anyio.sleep(0.01)
    assert fake.streams[0].stopped.is_set()


async def test_slow_consumer_drops_and_counts_without_blocking_the_callback() -> None:
    fake = FakeSoundDevice(blocks=200)
    mic = Microphone(backend=fake, queue_frames=4, stall_timeout_s=0.5)
    seen = 0
    dropped = 0
    with anyio.fail_after(10):
        try:
            async for frame in mic:
                seen += 1
                dropped += frame.dropped
                await anyio.sleep(0.01)  # slower than the capture thread
        except AudioError:
            pass  # the fake ran out of blocks: the stall timeout ends the loop
    assert dropped > 0
    assert dropped == mic.dropped_frames
    assert seen + dropped == 200  # every block either delivered or counted: none waited


async def test_overflow_reaches_segment_as_an_event() -> None:
    fake = FakeSoundDevice(blocks=100)
    mic = Microphone(backend=fake, queue_frames=2, stall_timeout_s=0.3)
    overflow: list[AudioOverflow] = []
    with anyio.fail_after(10), pytest.raises(AudioError, match="no audio"):
        async for event in segment(mic):
            if isinstance(event, AudioOverflow):
                overflow.append(event)
            await anyio.sleep(0.005)
    assert overflow and overflow[-1].total_dropped == sum(e.dropped_frames for e in overflow)


async def test_cancellation_closes_the_stream() -> None:
    fake = FakeSoundDevice(blocks=10_000, pace=0.002)
    with anyio.move_on_after(0.2):
        async for _ in Microphone(backend=fake):
            pass
    assert fake.streams[0].stopped.is_set() and fake.streams[0].closed


async def test_stalled_device_raises_instead_of_hanging() -> None:
    fake = FakeSoundDevice(blocks=0)
    with anyio.fail_after(5), pytest.raises(AudioError, match=r"no audio for 0\.2 s"):
        async for _ in Microphone(backend=fake, stall_timeout_s=0.2):
            pass


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ValueError("No input device matching 'usb'"), "no usable input device"),
        (
            RuntimeError("Error opening InputStream: Device unavailable [PaErrorCode -9985]"),
            "cannot open the microphone",
        ),
    ],
)
async def test_open_errors_are_one_clear_line(error: Exception, message: str) -> None:
    fake = FakeSoundDevice()
    fake.open_error = error
    with pytest.raises(AudioError, match=message) as info:
        async for _ in Microphone(device="usb", backend=fake):
            pass
    assert info.value.hint and "voxagent devices" in info.value.hint


async def test_a_machine_with_no_input_device_says_so_not_close_other_programs() -> None:
    class NoInputs(FakeSoundDevice):
        def query_devices(self) -> list[dict[str, Any]]:
            return [{"name": "speakers", "max_input_channels": 0, "default_samplerate": 48e3}]

    fake = NoInputs()
    fake.open_error = RuntimeError("Error querying device -1")
    with pytest.raises(AudioError, match=r"^no input device") as info:
        async for _ in Microphone(backend=fake):
            pass
    assert info.value.hint and "close other programs" not in info.value.hint


def test_invalid_settings() -> None:
    with pytest.raises(AudioError, match="invalid microphone settings"):
        Microphone(sample_rate=0)


def test_list_input_devices_keeps_inputs_only() -> None:
    devices = list_input_devices(FakeSoundDevice())
    assert [(d.index, d.name, d.channels, d.is_default) for d in devices] == [
        (1, "pulse", 32, True)
    ]
    assert str(devices[0]) == "1: pulse  32 ch, 44100 Hz  (default)"
