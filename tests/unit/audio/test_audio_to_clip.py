"""`to_clip`: every accepted input, the pass-through rule, and every bad input."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxagent.audio import to_clip
from voxagent.errors import AudioError


def tone(rate: int, seconds: float = 1.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


def encoded(samples: np.ndarray, rate: int, fmt: str, subtype: str | None = None) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def decoded(data: bytes) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples, rate


def test_stereo_44k_wav_file_becomes_16k_mono_wav(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    sf.write(path, tone(44100, 2.0, channels=2), 44100)
    clip = to_clip(path)
    samples, rate = decoded(clip.data)
    assert (clip.format, rate, samples.shape[1]) == ("wav", 16000, 1)
    assert clip.duration_s == pytest.approx(2.0, abs=0.01)
    assert to_clip(str(path)).data == clip.data


def test_mono_flac_smaller_than_wav_is_passed_through_unchanged() -> None:
    data = encoded(tone(16000, 3.0), 16000, "FLAC")
    clip = to_clip(data)
    assert clip.format == "flac"
    assert clip.data == data
    assert clip.duration_s == pytest.approx(3.0)


def test_a_16k_mono_16bit_wav_is_passed_through_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "ready.wav"
    sf.write(path, tone(16000, 2.5), 16000, subtype="PCM_16")
    clip = to_clip(path)
    assert (clip.format, clip.data) == ("wav", path.read_bytes())
    assert clip.duration_s == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("rate", "channels", "subtype"),
    [(16000, 1, "FLOAT"), (16000, 1, "PCM_24"), (16000, 2, "PCM_16"), (22050, 1, "PCM_16")],
)
def test_a_wav_in_any_other_layout_is_re_encoded(rate: int, channels: int, subtype: str) -> None:
    data = encoded(tone(rate, 1.0, channels), rate, "WAV", subtype)
    clip = to_clip(data)
    samples, got_rate = decoded(clip.data)
    assert clip.data != data
    assert (got_rate, samples.shape[1], sf.info(io.BytesIO(clip.data)).subtype) == (
        16000,
        1,
        "PCM_16",
    )
    assert clip.duration_s == pytest.approx(1.0, abs=0.01)


def test_stereo_ogg_is_down_mixed_to_wav() -> None:
    data = encoded(tone(48000, 1.0, channels=2), 48000, "OGG", "VORBIS")
    clip = to_clip(data)
    samples, rate = decoded(clip.data)
    assert (clip.format, rate, samples.shape[1]) == ("wav", 16000, 1)


def test_array_with_rate_is_resampled() -> None:
    clip = to_clip(tone(8000, 1.5), sample_rate=8000)
    samples, rate = decoded(clip.data)
    assert rate == 16000 and samples.shape[0] == pytest.approx(24000, abs=2)
    int_clip = to_clip((tone(16000) * 32767).astype(np.int16), sample_rate=16000)
    assert decoded(int_clip.data)[0].shape == (16000, 1)


def test_array_without_rate_is_an_error() -> None:
    with pytest.raises(AudioError, match="sample rate"):
        to_clip(tone(16000))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.wav", "not found"),
        (lambda p: p, "directory"),
        (lambda p: _write(p / "empty.wav", b""), "empty"),
        (lambda p: _write(p / "corrupt.wav", b"RIFF\x24\x00\x00\x00WAVEfmt garbage"), "decode"),
        (lambda p: _write(p / "notes.txt", b"just some text, not audio\n" * 20), "decode"),
        (
            lambda p: _write(p / "header_only.wav", encoded(np.zeros(0, np.float32), 16000, "WAV")),
            "no samples",
        ),
    ],
    ids=["missing", "directory", "empty", "corrupt", "unsupported", "no-samples"],
)
def test_bad_files_give_one_clear_error(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(AudioError, match=message) as info:
        to_clip(path)
    assert info.value.hint
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    "bad",
    [np.zeros(0, dtype=np.float32), np.array([0.0, np.nan, 0.1], dtype=np.float32)],
    ids=["zero-length", "nan"],
)
def test_bad_arrays(bad: np.ndarray) -> None:
    with pytest.raises(AudioError):
        to_clip(bad, sample_rate=16000)


def test_float_wav_with_nan_is_rejected() -> None:
    data = encoded(np.array([0.0, np.nan, 0.5] * 100, dtype=np.float32), 16000, "WAV", "FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        to_clip(data)


def test_unsupported_python_type() -> None:
    with pytest.raises(AudioError, match="cannot use a int"):
        to_clip(42)  # type: ignore[arg-type]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
