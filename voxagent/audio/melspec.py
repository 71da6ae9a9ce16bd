"""Whisper-style log-mel features: what Smart Turn v3 (a Whisper-tiny encoder) reads.

The recipe is Whisper's published front end: 16 kHz audio, 25 ms periodic Hann windows
(n_fft 400) every 10 ms (hop 160), centred frames (reflect padding), the power spectrum projected
on 80 triangular mel filters (Slaney mel scale, each filter normalised to unit area), log10 with a
floor of 1e-10, clamped to 8 decades below the maximum, then scaled by (x + 4) / 4. Smart Turn
feeds it exactly 8 s (the last 8 s of the turn, zero-padded in front when shorter), normalised to
zero mean and unit variance first, and reads 800 frames (the centred STFT yields 801; the last is
dropped, as Whisper does).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

from voxagent.audio.convert import SAMPLE_RATE, Float32Array

__all__ = ["HOP", "N_FFT", "N_MELS", "WINDOW_S", "log_mel", "mel_filters", "window_samples"]

N_FFT = 400
HOP = 160
N_MELS = 80
WINDOW_S = 8.0
"""Seconds of audio the features cover (Smart Turn's input: 800 frames)."""


def _hz_to_mel(hz: NDArray[np.float64]) -> NDArray[np.float64]:
    # Slaney's scale: linear (200/3 Hz per mel) below 1 kHz, logarithmic above.
    step = np.log(6.4) / 27.0
    linear = hz / (200.0 / 3.0)
    return np.where(hz < 1000.0, linear, 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / step)


def _mel_to_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    step = np.log(6.4) / 27.0
    return np.where(mel < 15.0, mel * (200.0 / 3.0), 1000.0 * np.exp((mel - 15.0) * step))


@cache
def mel_filters(n_mels: int = N_MELS, n_fft: int = N_FFT) -> NDArray[np.float64]:
    """Triangular mel filters, shape (n_mels, n_fft // 2 + 1), each of unit area (Slaney)."""
    bins = np.linspace(0.0, SAMPLE_RATE / 2.0, n_fft // 2 + 1)
    top = float(_hz_to_mel(np.array([SAMPLE_RATE / 2.0]))[0])
    edges = _mel_to_hz(np.linspace(0.0, top, n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    triangles = np.clip(np.minimum(rising, falling), 0.0, None)
    return triangles * (2.0 / (upper - lower))


@cache
def _hann() -> NDArray[np.float64]:
    # Periodic (not symmetric) Hann window, as in Whisper's STFT.
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)


def window_samples(samples: Float32Array, seconds: float = WINDOW_S) -> Float32Array:
    """The last `seconds` of `samples`, zero-padded in front when shorter."""
    size = round(seconds * SAMPLE_RATE)
    tail = np.asarray(samples, dtype=np.float32)[-size:]
    if tail.size == size:
        return tail
    return np.concatenate((np.zeros(size - tail.size, dtype=np.float32), tail))


def log_mel(samples: Float32Array, *, normalize: bool = True) -> NDArray[np.float32]:
    """Whisper log-mel features of the last 8 s of `samples` (16 kHz mono float32).

    Args:
        samples: Audio at 16 kHz; only the last `WINDOW_S` seconds are used, shorter audio is
            zero-padded in front.
        normalize: Scale the 8 s window to zero mean and unit variance first (Smart Turn's input).

    Returns:
        float32 array of shape (80, 800).
    """
    x = window_samples(samples).astype(np.float64)
    if normalize:
        # Done in float32 like the model's training pipeline; the small epsilon keeps an all-zero
        # window finite.
        x32 = x.astype(np.float32)
        x = ((x32 - x32.mean()) / np.sqrt(x32.var() + 1e-7)).astype(np.float64)
    half = N_FFT // 2
    padded = np.pad(x, half, mode="reflect")
    count = 1 + (padded.size - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded,
        shape=(count, N_FFT),
        strides=(padded.strides[0] * HOP, padded.strides[0]),
        writeable=False,
    )
    power = np.abs(np.fft.rfft(frames * _hann(), axis=1)) ** 2
    mel = power[:-1] @ mel_filters().T  # (800, 80): the trailing frame is dropped
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    scaled: NDArray[np.float32] = ((logs + 4.0) / 4.0).T.astype(np.float32)
    return scaled
