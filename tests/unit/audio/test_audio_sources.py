"""Sources: files, arrays and PCM share one interface and one framing, and stream lazily."""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxagent.audio import ArraySource, AudioFile, AudioSource, Frame, PCMSource
from voxagent.audio.convert import float_to_pcm16
from voxagent.errors import AudioError

pytestmark = pytest.mark.anyio


class FakeTime:
    """The `clock` and `sleep` pair of a real-time source: records its deadlines, never sleeps."""

    def __init__(self) -> None:
        self.t = 100.0
        self.deadlines: list[float] = []

    def clock(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.deadlines.append(self.t)


async def collect(source: AudioSource) -> list[Frame]:
    return [frame async for frame in source]


def ramp(n: int) -> np.ndarray:
    return np.linspace(-0.5, 0.5, n, dtype=np.float32)


async def test_array_source_frames_cover_the_audio_exactly() -> None:
    samples = ramp(16000 + 100)
    frames = await collect(ArraySource(samples, 16000))
    assert isinstance(ArraySource(samples, 16000), AudioSource)
    assert [f.samples.size for f in frames] == [320] * 50 + [100]
    assert [f.start for f in frames[:3]] == pytest.approx([0.0, 0.02, 0.04])
    assert np.array_equal(np.concatenate([f.samples for f in frames]), samples)
    assert all(f.samples.dtype == np.float32 and f.dropped == 0 for f in frames)


async def test_pcm_source_decodes_interleaved_stereo_and_resamples() -> None:
    stereo = np.stack([ramp(48000), ramp(48000)], axis=1)
    frames = await collect(PCMSource(float_to_pcm16(stereo.reshape(-1)), 48000, channels=2))
    total = sum(f.samples.size for f in frames)
    assert total == pytest.approx(16000, abs=2)


async def test_audio_file_any_rate_and_channels(tmp_path: Path) -> None:
    path = tmp_path / "tone.flac"
    t = np.arange(44100 * 2) / 44100
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    sf.write(path, np.stack([tone, tone], axis=1), 44100)
    source = AudioFile(path, block_ms=30)
    assert (source.sample_rate, source.channels) == (44100, 2)
    assert source.duration == pytest.approx(2.0)
    frames = await collect(source)
    assert all(f.samples.size == 480 for f in frames[:-1])
    audio = np.concatenate([f.samples for f in frames])
    assert audio.size == pytest.approx(32000, abs=2)
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(audio.size, 1 / 16000)[np.argmax(spectrum)] == pytest.approx(440, abs=1)
    # Iterating again reopens the file.
    assert len(await collect(source)) == len(frames)


async def test_realtime_pacing_sleeps_until_each_frame_end() -> None:
    fake = FakeTime()
    source = ArraySource(ramp(1600), 16000, realtime=True, clock=fake.clock, sleep=fake.sleep)
    frames = await collect(source)
    assert len(frames) == 5
    assert fake.deadlines == pytest.approx([100.02, 100.04, 100.06, 100.08, 100.10])


async def test_not_realtime_never_sleeps() -> None:
    fake = FakeTime()
    await collect(ArraySource(ramp(1600), 16000, clock=fake.clock, sleep=fake.sleep))
    assert fake.deadlines == []


async def test_a_clock_object_of_0_1_still_paces_with_a_deprecation_warning() -> None:
    class OldClock:  # the removed Clock protocol: now() and sleep_until()
        def __init__(self) -> None:
            self.t = 100.0
            self.deadlines: list[float] = []

        def now(self) -> float:
            return self.t

        async def sleep_until(self, deadline: float) -> None:
            self.deadlines.append(deadline)
            self.t = max(self.t, deadline)

    old = OldClock()
    with pytest.warns(DeprecationWarning, match="clock="):
        source = PCMSource(float_to_pcm16(ramp(640)), 16000, realtime=True, clock=old)  # type: ignore[arg-type]
    assert len(await collect(source)) == 2
    assert old.deadlines == pytest.approx([100.02, 100.04])


def write_sparse_wav(path: Path, seconds: int, rate: int = 16000) -> None:
    """A valid 16-bit mono WAV of silence whose data is a sparse hole (no disk, no time)."""
    data_bytes = seconds * rate * 2
    header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", data_bytes)
    with path.open("wb") as f:
        f.write(header)
        f.truncate(len(header) + data_bytes)


async def test_one_hour_file_is_streamed_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "hour.wav"
    write_sparse_wav(path, 3600)
    source = AudioFile(path)
    assert source.duration == pytest.approx(3600.0)
    tracemalloc.start()
    try:
        count = 0
        async for frame in source:
            count += 1
            if count == 600:  # 12 s in
                assert frame.start == pytest.approx(11.98)
                break
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The whole file is 115 MB as int16 (230 MB as float32); streaming holds ~1 s chunks.
    assert peak < 5_000_000


async def test_one_hour_file_streams_to_the_end(tmp_path: Path) -> None:
    path = tmp_path / "hour.wav"
    write_sparse_wav(path, 3600)
    last = None
    count = 0
    async for frame in AudioFile(path):
        count += 1
        last = frame
    assert count == 180_000
    assert last is not None and last.end == pytest.approx(3600.0)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.wav", b"", "cannot read"),
        ("corrupt.wav", b"RIFF\x10\x00\x00\x00WAVEjunkjunk", "cannot read"),
        ("notes.txt", b"hello, this is not audio\n" * 10, "cannot read"),
    ],
)
def test_audio_file_bad_input(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message) as info:
        AudioFile(path)
    assert info.value.hint


def test_audio_file_missing_directory_and_no_samples(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not found"):
        AudioFile(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="directory"):
        AudioFile(tmp_path)
    header_only = tmp_path / "zero.wav"
    sf.write(header_only, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="no audio samples"):
        AudioFile(header_only)


async def test_nan_in_a_float_file_fails_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "nan.wav"
    samples = np.zeros(32000, dtype=np.float32)
    samples[20000] = np.nan
    sf.write(path, samples, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        await collect(AudioFile(path))


def test_array_source_bad_input() -> None:
    with pytest.raises(AudioError, match="empty"):
        ArraySource(np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="NaN"):
        ArraySource(np.array([0.0, np.nan], dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="block_ms"):
        ArraySource(ramp(100), 16000, block_ms=0)
    with pytest.raises(AudioError, match="whole number"):
        PCMSource(b"\x00\x00\x00", 16000)
