"""Perturbations of a clip: added noise at an SNR, speed changes, an 8 kHz telephone channel.

Every function takes and returns float32 mono samples at 16 kHz and is deterministic given its
random generator (the runner seeds one per clip and variant, so a run is repeatable whatever the
order cases finish in).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

from voxagent.audio.convert import SAMPLE_RATE

__all__ = [
    "Variant",
    "add_noise",
    "apply_variant",
    "change_speed",
    "generated_noise",
    "load_noise",
    "speech_power",
    "telephone",
    "variants",
]

Samples = npt.NDArray[np.float32]

_FRAME = SAMPLE_RATE // 50  # 20 ms
_SPEECH_RANGE_DB = 30.0  # frames within this of the loudest count as speech for the SNR


@dataclass(frozen=True)
class Variant:
    """One way of presenting every audio turn.

    Attributes:
        kind: "clean", "noise", "speed" or "telephone".
        snr_db: The SNR of "noise".
        noise: "white", "brown" or a noise file's path, for "noise".
        speed: The factor of "speed".
    """

    kind: str
    snr_db: float = 0.0
    noise: str = "white"
    speed: float = 1.0

    @property
    def label(self) -> str:
        """A short name, used in run ids and as the `perturb=` tag."""
        match self.kind:
            case "noise":
                source = self.noise if self.noise in ("white", "brown") else "file"
                return f"{source}{self.snr_db:g}dB"
            case "speed":
                return f"speed{self.speed:g}"
            case _:
                return self.kind


def variants(snr_db: list[float], noise: str, speed: list[float], telephone: bool) -> list[Variant]:
    """The clean variant first, then one per SNR, per speed, and the telephone channel."""
    out = [Variant("clean")]
    out += [Variant("noise", snr_db=s, noise=noise) for s in snr_db]
    out += [Variant("speed", speed=s) for s in speed]
    if telephone:
        out.append(Variant("telephone"))
    return out


def speech_power(samples: Samples) -> float:
    """Mean power over the speech: 20 ms frames within 30 dB of the loudest frame."""
    usable = samples[: samples.size - samples.size % _FRAME] if samples.size >= _FRAME else samples
    if usable.size == 0:
        return 0.0
    frames = usable.reshape(-1, min(_FRAME, usable.size)).astype(np.float64)
    power = np.mean(frames**2, axis=1)
    loudest = float(power.max())
    if loudest <= 0:
        return 0.0
    loud = power[power >= loudest * 10 ** (-_SPEECH_RANGE_DB / 10)]
    return float(loud.mean())


def generated_noise(kind: str, size: int, rng: np.random.Generator) -> Samples:
    """White noise, or brown noise (energy falling 6 dB per octave, like a room's rumble)."""
    white = rng.standard_normal(size)
    if kind == "brown":
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(size, 1 / SAMPLE_RATE)
        freqs[0] = freqs[1] if size > 1 else 1.0
        white = np.fft.irfft(spectrum / freqs, n=size)
    peak = float(np.max(np.abs(white))) or 1.0
    return (white / peak).astype(np.float32)


def load_noise(path: str | Path) -> Samples:
    """A noise recording as 16 kHz mono float32 (any format libsndfile reads)."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    if mono.size == 0 or not np.all(np.isfinite(mono)):
        raise ValueError(f"the noise file {path} holds no usable samples")
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE)
    return np.asarray(mono, dtype=np.float32)


def add_noise(samples: Samples, snr_db: float, noise: Samples, rng: np.random.Generator) -> Samples:
    """Mix `noise` (tiled from a random offset to the clip's length) in at `snr_db`.

    The SNR is measured over the speech (`speech_power`) against the noise's mean power; the
    result is clipped to [-1, 1] (which, for very loud mixes, lowers the SNR slightly).
    """
    if samples.size == 0 or noise.size == 0:
        return samples
    start = int(rng.integers(0, noise.size))
    reps = -(-(start + samples.size) // noise.size)
    piece = np.tile(noise, reps)[start : start + samples.size].astype(np.float64)
    noise_power = float(np.mean(piece**2))
    signal = speech_power(samples)
    if noise_power <= 0 or signal <= 0:
        return samples
    gain = np.sqrt(signal / (noise_power * 10 ** (snr_db / 10)))
    mixed = samples.astype(np.float64) + gain * piece
    return np.asarray(np.clip(mixed, -1.0, 1.0), dtype=np.float32)


def change_speed(samples: Samples, factor: float) -> Samples:
    """Play `factor` times faster (0.9: slower and lower, as a tape would)."""
    played_rate = round(SAMPLE_RATE * factor)
    out = soxr.resample(samples, played_rate, SAMPLE_RATE)
    return np.asarray(out, dtype=np.float32)


def _mu_law(samples: npt.NDArray[np.float64], mu: float = 255.0) -> npt.NDArray[np.float64]:
    """G.711 mu-law: compress, quantise to 8 bits, expand."""
    x = np.clip(samples, -1.0, 1.0)
    compressed = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    quantised = np.round((compressed + 1) / 2 * 255) / 255 * 2 - 1
    expanded = np.sign(quantised) * np.expm1(np.abs(quantised) * np.log1p(mu)) / mu
    return np.asarray(expanded, dtype=np.float64)


def telephone(samples: Samples) -> Samples:
    """An 8 kHz narrow-band telephone channel: 300-3400 Hz, mu-law, back at 16 kHz."""
    narrow = np.asarray(soxr.resample(samples, SAMPLE_RATE, 8000), dtype=np.float64)
    if narrow.size == 0:
        return samples
    spectrum = np.fft.rfft(narrow)
    freqs = np.fft.rfftfreq(narrow.size, 1 / 8000)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    band = np.fft.irfft(spectrum, n=narrow.size)
    wide = soxr.resample(_mu_law(band), 8000, SAMPLE_RATE)
    return np.asarray(np.clip(wide, -1.0, 1.0), dtype=np.float32)


def apply_variant(
    variant: Variant,
    samples: Samples,
    rng: np.random.Generator,
    noise_file: Samples | None = None,
) -> Samples:
    """`samples` as `variant` presents them (the clean variant returns them unchanged)."""
    match variant.kind:
        case "noise":
            if variant.noise in ("white", "brown"):
                noise = generated_noise(variant.noise, max(samples.size, SAMPLE_RATE), rng)
            else:
                if noise_file is None:
                    raise ValueError("a noise-file variant needs the loaded noise")
                noise = noise_file
            return add_noise(samples, variant.snr_db, noise, rng)
        case "speed":
            return change_speed(samples, variant.speed)
        case "telephone":
            return telephone(samples)
    return samples
