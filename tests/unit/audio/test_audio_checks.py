"""The input checks in convert.py: array layout, sample rates, and probing encoded audio."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from voxagent.audio.convert import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    check_sample_rate,
    probe_audio,
    to_frames_channels,
)
from voxagent.errors import AudioError


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((16000,), (16000,)),
        ((16000, 2), (16000, 2)),
        ((2, 16000), (16000, 2)),
        ((8, 16000), (16000, 8)),
        ((16, 48000), (48000, 16)),  # more than 8 channels first: still the shorter axis
        ((48000, 16), (48000, 16)),
        ((4, 4), (4, 4)),  # square: the documented (frames, channels)
    ],
)
def test_to_frames_channels_puts_time_first(
    shape: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    array = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    out = to_frames_channels(array)
    assert out.shape == expected
    if len(shape) == 2 and shape[0] < shape[1]:
        assert np.array_equal(out, array.T)  # a view of the same samples, channel by channel


def test_to_frames_channels_refuses_more_than_64_channels() -> None:
    with pytest.raises(AudioError, match="65 channels"):
        to_frames_channels(np.zeros((65, 65), dtype=np.float32))


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(16000, 16000), (np.int64(8000), 8000), (44100.0, 44100), (MIN_SAMPLE_RATE, 1000)],
)
def test_check_sample_rate_accepts_whole_numbers_in_range(rate: object, expected: int) -> None:
    assert check_sample_rate(rate) == expected
    assert type(check_sample_rate(rate)) is int


@pytest.mark.parametrize(
    "rate", [MIN_SAMPLE_RATE - 1, MAX_SAMPLE_RATE + 1, 0.5, float("nan"), None, "44100", False]
)
def test_check_sample_rate_refuses_the_rest_with_a_hint(rate: object) -> None:
    with pytest.raises(AudioError, match="sample rate") as caught:
        check_sample_rate(rate)
    assert caught.value.hint


def _encoded(fmt: str, frames: int, channels: int = 1, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    # Noise, not silence: silence compresses so well that a cut FLAC would still hold it all.
    samples = (np.random.default_rng(0).standard_normal((frames, channels)) * 0.1).astype(
        np.float32
    )
    sf.write(buffer, samples, rate, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG"])
def test_probe_audio_reports_format_rate_channels_and_length(fmt: str) -> None:
    info = probe_audio(_encoded(fmt, 12345, channels=2, rate=22050))
    assert (info.format, info.sample_rate, info.channels, info.frames) == (
        fmt.lower(),
        22050,
        2,
        12345,
    )
    assert info.duration_s == pytest.approx(12345 / 22050)


@pytest.mark.parametrize(
    "data",
    [b"", b"not audio at all" * 10, _encoded("FLAC", 16000)[:3000]],
    ids=["empty", "junk", "truncated-flac"],
)
def test_probe_audio_refuses_what_does_not_decode(data: bytes) -> None:
    with pytest.raises(AudioError) as caught:
        probe_audio(data)
    assert "BytesIO" not in caught.value.message  # the reason, not the buffer's repr
    assert caught.value.hint
