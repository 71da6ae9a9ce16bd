"""The Whisper log-mel front end against a reference computed here from the definitions.

The reference is deliberately a different code path: an explicit DFT matrix (cos/sin sums, no
FFT), frames cut one by one, and triangular mel filters built point by point from the Slaney mel
formula, each scaled to unit area.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from voxagent.audio.melspec import log_mel, mel_filters, window_samples

RATE = 16000


def slaney_mel(hz: float) -> float:
    return hz * 3.0 / 200.0 if hz < 1000.0 else 15.0 + 27.0 * math.log(hz / 1000.0) / math.log(6.4)


def slaney_hz(mel: float) -> float:
    return (
        mel * 200.0 / 3.0
        if mel < 15.0
        else 1000.0 * math.exp(mel * math.log(6.4) / 27.0 - 15.0 * math.log(6.4) / 27.0)
    )


def reference_filters() -> np.ndarray:
    n_bins = 201
    top = slaney_mel(8000.0)
    edges = [slaney_hz(top * i / 81) for i in range(82)]
    filters = np.zeros((80, n_bins))
    for m in range(80):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        for k in range(n_bins):
            f = k * 8000.0 / 200
            if lo <= f <= mid:
                filters[m, k] = (f - lo) / (mid - lo)
            elif mid < f <= hi:
                filters[m, k] = (hi - f) / (hi - mid)
        filters[m] *= 2.0 / (hi - lo)
    return filters


def reference_log_mel(audio: np.ndarray) -> np.ndarray:
    x = np.zeros(8 * RATE, dtype=np.float32)
    tail = audio[-8 * RATE :]
    x[x.size - tail.size :] = tail
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    x = x.astype(np.float64)
    padded = np.concatenate((x[1:201][::-1], x, x[-201:-1][::-1]))  # reflect, 200 each side
    n = np.arange(400)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / 400)
    k = np.arange(201)[:, None]
    cos = np.cos(2 * np.pi * k * n[None, :] / 400)
    sin = np.sin(2 * np.pi * k * n[None, :] / 400)
    filters = reference_filters()
    columns = []
    for t in range(800):
        frame = padded[t * 160 : t * 160 + 400] * window
        power = (cos @ frame) ** 2 + (sin @ frame) ** 2
        columns.append(filters @ power)
    mel = np.log10(np.maximum(np.array(columns).T, 1e-10))
    mel = np.maximum(mel, mel.max() - 8.0)
    return (mel + 4.0) / 4.0


def test_filters_match_the_formula() -> None:
    ours = mel_filters()
    assert ours.shape == (80, 201)
    np.testing.assert_allclose(ours, reference_filters(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seconds", [8.0, 3.0, 11.5])
def test_log_mel_matches_a_direct_dft(seconds: float) -> None:
    rng = np.random.default_rng(int(seconds * 10))
    t = np.arange(int(seconds * RATE)) / RATE
    # Two tones and noise, with a quiet stretch: exercises the floor and the 8-decade clamp.
    audio = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 3100 * t)
    audio = audio + 0.01 * rng.standard_normal(t.size)
    audio[t.size // 3 : t.size // 2] *= 1e-4
    audio = audio.astype(np.float32)
    ours = log_mel(audio)
    assert ours.shape == (80, 800) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference_log_mel(audio), atol=2e-4)


def test_short_audio_is_padded_in_front_and_long_audio_keeps_its_end() -> None:
    short = np.ones(RATE, dtype=np.float32)
    window = window_samples(short)
    assert window.size == 8 * RATE and not window[: 7 * RATE].any() and window[-RATE:].all()
    long = np.arange(10 * RATE, dtype=np.float32)
    assert window_samples(long)[0] == 2 * RATE and window_samples(long)[-1] == long[-1]


def test_silence_gives_finite_features() -> None:
    features = log_mel(np.zeros(RATE, dtype=np.float32))
    assert np.isfinite(features).all()
