"""Audio sources: one interface (an async iterable of `Frame`) for files, arrays and raw PCM.

Every source converts to float32 mono 16 kHz and cuts the stream into fixed frames (20 ms by
default). Stream time comes from sample counts, never from the wall clock; a source paced in real
time waits with the `clock` and `sleep` pair of `voxagent.clock`, the one time seam.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio
import anyio.lowlevel
import numpy as np
import numpy.typing as npt
import soundfile as sf

from voxagent.audio.convert import (
    SAMPLE_RATE,
    Float32Array,
    StreamResampler,
    check_finite,
    pcm16_to_float,
    resample,
    to_float32,
    to_frames_channels,
    to_mono,
)
from voxagent.clock import Clock, Sleep, sleep_until
from voxagent.errors import AudioError

__all__ = [
    "AnyioClock",
    "ArraySource",
    "AudioFile",
    "AudioSource",
    "Frame",
    "PCMSource",
]

# Files are read in chunks this long (seconds): large enough that thread hops are rare, small
# enough that an hour-long file never sits in memory.
_READ_CHUNK_S = 1.0


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """A block of audio from a source.

    Attributes:
        samples: float32 mono samples at 16 kHz in [-1, 1].
        start: Stream time of the first sample, in seconds since the source started.
        dropped: Frames lost just before this one (capture overflow); 0 for files and arrays.
    """

    samples: Float32Array
    start: float
    dropped: int = 0

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.size / SAMPLE_RATE

    @property
    def end(self) -> float:
        """Stream time just after the last sample."""
        return self.start + self.duration


@runtime_checkable
class AudioSource(Protocol):
    """Anything that yields `Frame`s asynchronously: microphone, file, array, PCM bytes."""

    def __aiter__(self) -> AsyncIterator[Frame]:
        """Start the source and iterate over its frames."""
        ...


class AnyioClock:
    """Deprecated: the event loop's clock as an object; sources take `voxagent.clock` functions.

    Passing one as a source's `clock` still works (with a `DeprecationWarning`) for one release;
    pass nothing (the default is the event loop's clock), or `clock=` and `sleep=` functions.
    """

    def now(self) -> float:
        """Return the event loop's time."""
        return anyio.current_time()

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the loop's clock reaches `deadline`."""
        await anyio.sleep_until(deadline)


def _pacing(clock: Clock | Any | None, sleep: Sleep | None) -> tuple[Clock, Sleep]:
    """The `(clock, sleep)` pair a source paces with, from what it was given."""
    if clock is not None and hasattr(clock, "now") and hasattr(clock, "sleep_until"):
        # The object clocks of voxagent 0.1 (`now()` and `sleep_until()`).
        warnings.warn(
            "passing an object with now()/sleep_until() as clock= is deprecated: pass "
            "clock=<function returning seconds> and sleep=<async function> (voxagent.clock)",
            DeprecationWarning,
            stacklevel=3,
        )
        legacy = clock

        async def legacy_sleep(seconds: float) -> None:
            await legacy.sleep_until(legacy.now() + seconds)

        return legacy.now, legacy_sleep
    return clock or anyio.current_time, sleep or anyio.sleep


async def _frames(
    chunks: AsyncIterator[Float32Array],
    block_ms: int,
    realtime: bool,
    pacing: tuple[Clock, Sleep],
) -> AsyncIterator[Frame]:
    """Cut 16 kHz mono chunks into frames of `block_ms`, optionally paced in real time."""
    block = _block_samples(block_ms)
    pending = np.zeros(0, dtype=np.float32)
    emitted = 0
    clock, sleep = pacing
    origin: float | None = None

    async def emit(samples: Float32Array) -> Frame:
        nonlocal emitted, origin
        frame = Frame(samples, emitted / SAMPLE_RATE)
        emitted += samples.size
        if realtime:
            # A real device hands a frame over once its last sample was captured.
            origin = clock() if origin is None else origin
            await sleep_until(origin + frame.end, clock, sleep)
        return frame

    async for chunk in chunks:
        pending = np.concatenate((pending, chunk)) if pending.size else chunk
        cut = pending.size - pending.size % block
        for offset in range(0, cut, block):
            yield await emit(pending[offset : offset + block])
        pending = pending[cut:]
        await anyio.lowlevel.checkpoint()
    if pending.size:
        yield await emit(pending)


def _block_samples(block_ms: int) -> int:
    if not 1 <= block_ms <= 1000:
        raise AudioError(f"block_ms must be 1..1000, got {block_ms}", hint="use 10, 20 or 30")
    return SAMPLE_RATE * block_ms // 1000


async def _one(chunk: Float32Array) -> AsyncIterator[Float32Array]:
    yield chunk


class AudioFile:
    """Stream an audio file (wav, flac, ogg, mp3: whatever libsndfile reads) as frames.

    The file is read in one-second chunks in a worker thread and resampled on the fly, so an
    hour-long recording never sits in memory whole. The header is checked on construction.

    Args:
        path: The file.
        realtime: Pace frames at the audio's own speed (simulations, demos).
        block_ms: Frame length in milliseconds.
        clock: Time for `realtime` pacing (`voxagent.clock.Clock`); the event loop's by default.
        sleep: Waits for `realtime` pacing, with `clock` (`voxagent.clock.Sleep`).

    Raises:
        AudioError: Missing file, directory, pipe or device (stream those with `to_clip` or
            `PCMSource`), unreadable or unsupported format, no samples.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        realtime: bool = False,
        block_ms: int = 20,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.block_ms = block_ms
        self._pacing = _pacing(clock, sleep)
        _block_samples(block_ms)
        info = _file_info(self.path)
        self.sample_rate: int = int(info.samplerate)
        self.channels: int = int(info.channels)
        self.duration: float = info.frames / info.samplerate

    def __repr__(self) -> str:
        return f"AudioFile({str(self.path)!r}, duration={self.duration:.2f}s)"

    def __aiter__(self) -> AsyncIterator[Frame]:
        return _frames(self._chunks(), self.block_ms, self.realtime, self._pacing)

    async def _chunks(self) -> AsyncIterator[Float32Array]:
        handle = await anyio.to_thread.run_sync(_open, self.path)
        try:
            resampler = StreamResampler(int(handle.samplerate))
            size = max(1, int(handle.samplerate * _READ_CHUNK_S))
            while True:
                block: npt.NDArray[Any] = await anyio.to_thread.run_sync(_read, handle, size)
                last = block.shape[0] < size
                if block.shape[0]:
                    check_finite(block)
                out = resampler.process(to_mono(block), last=last)
                if out.size:
                    yield out
                if last:
                    return
        finally:
            handle.close()


def _open(path: Path) -> sf.SoundFile:
    try:
        return sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"cannot open {path}: {exc}", hint="check the file") from exc


def _read(handle: sf.SoundFile, size: int) -> npt.NDArray[Any]:
    try:
        return np.asarray(handle.read(size, dtype="float32", always_2d=True))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(
            f"cannot decode {handle.name}: {exc}", hint="the file may be truncated or corrupt"
        ) from exc


def _file_info(path: Path) -> Any:
    if path.is_dir():
        raise AudioError(f"{path} is a directory, not an audio file", hint="pass a file's path")
    if not path.exists():
        raise AudioError(f"audio file not found: {path}", hint="check the path")
    if not path.is_file():
        # sf.info would open a FIFO in this (event loop) thread and wait for a writer forever,
        # and a device such as /dev/zero never ends.
        raise AudioError(
            f"{path} is a pipe or device, not an audio file",
            hint="pass a regular file; read a pipe with to_clip / ask(audio=...), or feed raw"
            " PCM through PCMSource",
        )
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(
            f"cannot read {path} as audio: {exc}",
            hint="use wav, flac, ogg or mp3 (anything libsndfile reads); check it is not corrupt",
        ) from exc
    if info.frames <= 0:
        raise AudioError(f"{path} contains no audio samples", hint="record or pass longer audio")
    return info


class ArraySource:
    """Frames from samples already in memory.

    Args:
        samples: 1-D, (frames, channels) or (channels, frames) (see `to_frames_channels`);
            float in [-1, 1] or int16 PCM; any rate.
        sample_rate: The samples' rate in Hz, a whole number.
        realtime: Pace frames at the audio's speed.
        block_ms: Frame length in milliseconds.
        clock: Time for pacing (`voxagent.clock.Clock`); the event loop's by default.
        sleep: Waits for pacing, with `clock`.

    Raises:
        AudioError: Empty array, NaN/inf samples, unusable dtype, shape or sample rate.
    """

    def __init__(
        self,
        samples: npt.ArrayLike,
        sample_rate: int,
        *,
        realtime: bool = False,
        block_ms: int = 20,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        mono = to_mono(to_float32(to_frames_channels(samples)))
        if mono.size == 0:
            raise AudioError("the audio array is empty (0 samples)", hint="pass some samples")
        _block_samples(block_ms)
        self.samples: Float32Array = resample(mono, sample_rate, SAMPLE_RATE)
        self.realtime = realtime
        self.block_ms = block_ms
        self._pacing = _pacing(clock, sleep)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.size / SAMPLE_RATE

    def __aiter__(self) -> AsyncIterator[Frame]:
        return _frames(_one(self.samples), self.block_ms, self.realtime, self._pacing)


class PCMSource(ArraySource):
    """Frames from raw little-endian int16 PCM bytes (what telephony and websockets carry).

    Args:
        data: Interleaved int16 little-endian samples.
        sample_rate: Their rate in Hz.
        channels: Interleaved channel count; down-mixed to mono.
        realtime: Pace frames at the audio's speed.
        block_ms: Frame length in milliseconds.
        clock: Time for pacing (`voxagent.clock.Clock`); the event loop's by default.
        sleep: Waits for pacing, with `clock`.
    """

    def __init__(
        self,
        data: bytes,
        sample_rate: int,
        channels: int = 1,
        *,
        realtime: bool = False,
        block_ms: int = 20,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        super().__init__(
            pcm16_to_float(data, channels),
            sample_rate,
            realtime=realtime,
            block_ms=block_ms,
            clock=clock,
            sleep=sleep,
        )
