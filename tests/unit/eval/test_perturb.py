"""Perturbations: the SNR asked for is the SNR mixed, speed changes length, the phone band is
a phone band, and a seed gives the same noise every time."""

from __future__ import annotations

import numpy as np
import pytest

from voxagent.eval.perturb import (
    Variant,
    add_noise,
    apply_variant,
    change_speed,
    generated_noise,
    speech_power,
    telephone,
    variants,
)

RATE = 16000


def speechlike(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    tone = 0.2 * np.sin(2 * np.pi * 300 * t) + 0.1 * np.sin(2 * np.pi * 1200 * t)
    tone[: RATE // 4] = 0  # silence before and after, as in a recording
    tone[-RATE // 4 :] = 0
    return tone.astype(np.float32)


def band_energy(samples: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / RATE)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
@pytest.mark.parametrize("kind", ["white", "brown"])
def test_noise_is_mixed_at_the_snr_asked(snr: float, kind: str) -> None:
    clean = speechlike()
    rng = np.random.default_rng(7)
    noisy = add_noise(clean, snr, generated_noise(kind, clean.size, rng), rng)
    noise = noisy.astype(np.float64) - clean
    measured = 10 * np.log10(speech_power(clean) / np.mean(noise**2))
    assert measured == pytest.approx(snr, abs=0.05)


def test_the_same_seed_gives_the_same_noise_and_another_seed_other_noise() -> None:
    clean = speechlike()
    variant = Variant("noise", snr_db=10)
    a = apply_variant(variant, clean, np.random.default_rng([1, 2]))
    b = apply_variant(variant, clean, np.random.default_rng([1, 2]))
    c = apply_variant(variant, clean, np.random.default_rng([1, 3]))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_changes_the_length_by_the_factor(factor: float) -> None:
    clean = speechlike()
    fast = change_speed(clean, factor)
    assert fast.size == pytest.approx(clean.size / factor, rel=0.002)


def test_the_telephone_channel_keeps_300_to_3400_hz_only() -> None:
    rng = np.random.default_rng(0)
    white = generated_noise("white", 2 * RATE, rng) * 0.3
    phone = telephone(white)
    assert phone.size == white.size
    inside = band_energy(phone, 400, 3300) / band_energy(white, 400, 3300)
    above = band_energy(phone, 4000, 8000) / band_energy(white, 4000, 8000)
    below = band_energy(phone, 0, 250) / band_energy(white, 0, 250)
    assert inside > 0.5
    assert above < 0.01
    assert below < 0.05


def test_variants_and_their_labels() -> None:
    labels = [v.label for v in variants([20, 5], "brown", [0.9, 1.1], True)]
    assert labels == ["clean", "brown20dB", "brown5dB", "speed0.9", "speed1.1", "telephone"]
    assert Variant("noise", snr_db=10, noise="/x/cafe.wav").label == "file10dB"
    clean = speechlike()
    assert apply_variant(Variant("clean"), clean, np.random.default_rng(0)) is clean
