"""Exactness of the conversions: dtype, down-mix, resampling, PCM bytes, WAV."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from voxagent.audio.convert import (
    StreamResampler,
    decode_audio,
    encode_wav,
    float_to_pcm16,
    pcm16_to_float,
    resample,
    to_float32,
    to_int16,
    to_mono,
)
from voxagent.errors import AudioError


def sine(freq: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampled_sine_keeps_its_frequency_and_length(rate: int) -> None:
    out = resample(sine(440.0, rate), rate, 16000)
    assert out.dtype == np.float32
    assert abs(out.size - 16000) <= 1
    assert abs(peak_hz(out, 16000) - 440.0) <= 1.0
    assert 0.45 < np.max(np.abs(out[1000:-1000])) < 0.55


def test_streaming_resampler_matches_frequency_across_chunks() -> None:
    source = sine(1000.0, 48000, 2.0)
    stream = StreamResampler(48000)
    chunks = [stream.process(source[i : i + 960]) for i in range(0, source.size, 960)]
    chunks.append(stream.process(np.zeros(0, dtype=np.float32), last=True))
    out = np.concatenate(chunks)
    assert abs(out.size - 32000) <= 2
    assert abs(peak_hz(out, 16000) - 1000.0) <= 1.0


def test_same_rate_passes_through_unchanged() -> None:
    x = sine(300.0, 16000)
    assert resample(x, 16000) is x
    assert StreamResampler(16000).process(x) is x


def test_int16_float_round_trip_is_exact() -> None:
    pcm = np.arange(-32768, 32768, dtype=np.int16)
    assert np.array_equal(to_int16(to_float32(pcm)), pcm)
    assert np.array_equal(pcm16_to_float(float_to_pcm16(to_float32(pcm))), to_float32(pcm))


def test_float_to_int16_clips_instead_of_wrapping() -> None:
    assert to_int16(np.array([2.0, -2.0, 1.0], dtype=np.float32)).tolist() == [32767, -32768, 32767]


def test_wav_round_trip_keeps_samples() -> None:
    pcm = np.random.default_rng(1).integers(-32768, 32767, 16000, dtype=np.int16)
    data = encode_wav(to_float32(pcm))
    read, rate = sf.read(io.BytesIO(data), dtype="int16")
    assert rate == 16000
    assert np.array_equal(read, pcm)
    samples, rate2, fmt = decode_audio(data)
    assert (rate2, fmt, samples.shape) == (16000, "wav", (16000, 1))


def test_down_mix_averages_channels() -> None:
    stereo = np.stack([np.full(10, 0.5), np.full(10, -0.1)], axis=1).astype(np.float32)
    assert np.allclose(to_mono(stereo), 0.2)
    interleaved = float_to_pcm16(stereo.reshape(-1))
    assert np.allclose(pcm16_to_float(interleaved, channels=2), 0.2, atol=1e-4)


def test_uint8_and_int32_scale_to_unit_range() -> None:
    assert to_float32(np.array([0, 128, 255], dtype=np.uint8)).tolist() == pytest.approx(
        [-1.0, 0.0, 127 / 128]
    )
    assert to_float32(np.array([2**30], dtype=np.int32))[0] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "bad",
    [
        np.array([0.1, np.nan], dtype=np.float32),
        np.array([np.inf]),
        np.array([True, False]),
        np.zeros((2, 2, 2), dtype=np.float32),
    ],
)
def test_bad_arrays_raise_audio_error(bad: np.ndarray) -> None:
    with pytest.raises(AudioError) as info:
        to_mono(bad)
    assert info.value.hint


def test_odd_pcm_byte_count_is_an_error() -> None:
    with pytest.raises(AudioError, match="whole number"):
        pcm16_to_float(b"\x00\x01\x02")


def test_decode_garbage_is_an_error() -> None:
    with pytest.raises(AudioError, match="cannot decode"):
        decode_audio(b"RIFF not really a wav file at all")
