"""The energy scorer's noise-flatness rule, and the corpus's energy rule that ignores thumps."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from voxagent.audio.vad import EnergyScorer

RATE = 16000
FRAME = 320
ROOT = Path(__file__).resolve().parents[3]


def harmonic(seconds: float, level: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    voice = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((220, 440, 660, 880), 1))
    return (level * voice / np.sqrt(np.mean(voice**2))).astype(np.float32)


def noise(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    white = np.random.default_rng(seed).standard_normal(int(seconds * RATE))
    return (level * white).astype(np.float32)


def last_score(scorer: EnergyScorer, audio: np.ndarray) -> float:
    score = 0.0
    for i in range(0, audio.size - FRAME + 1, FRAME):
        score = scorer(audio[i : i + FRAME])
    return score


def test_flatness_tells_a_tone_from_white_noise() -> None:
    from voxagent.audio.vad import _flatness

    def power(samples: np.ndarray) -> np.ndarray:
        return np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2

    assert _flatness(power(harmonic(0.02, 0.1))) < 0.1
    assert _flatness(power(noise(0.02, 0.1))) > 0.4
    assert _flatness(np.zeros(10)) == pytest.approx(1.0)  # silence: flat, and finite


@pytest.mark.parametrize("make", [harmonic, noise])
def test_a_noise_like_frame_needs_more_height(make: object) -> None:
    # 0.5 s of quiet sets the floor, then a frame about 11 dB above it: over the 9 dB margin,
    # under the 13 dB that noise-like frames need.
    quiet = noise(0.5, 0.001, seed=1)
    burst = make(0.02, 0.001 * 10 ** (11 / 20))  # type: ignore[operator]
    audio = np.concatenate((quiet, burst))
    with_rule = last_score(EnergyScorer(), audio)
    without = last_score(EnergyScorer(noise_flatness=2.0), audio)
    if make is harmonic:
        assert with_rule == pytest.approx(without) and with_rule > 0.5
    else:
        assert without > 0.5 > with_rule


def _real_speech() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_speech", ROOT / "tools" / "real_speech.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_speech"] = module
    spec.loader.exec_module(module)
    return module


def test_the_corpus_energy_rule_ends_speech_before_a_low_thump() -> None:
    # Speech from 0.5 to 1.5 s, then a 40 Hz thump as loud as the speech until 2.0 s (a breath
    # pop on the microphone): the labelled end is the speech's, not the thump's.
    real_speech = _real_speech()
    t = np.arange(int(0.5 * RATE)) / RATE
    thump = (0.1 * np.sin(2 * np.pi * 40 * t) * np.exp(-t / 0.2)).astype(np.float32)
    audio = np.concatenate(
        (noise(0.5, 1e-4), harmonic(1.0, 0.1), thump + noise(0.5, 1e-4), noise(1.0, 1e-4))
    )
    start, end = real_speech.energy_bounds(audio)
    assert start == pytest.approx(0.5, abs=0.02)
    assert end == pytest.approx(1.5, abs=0.05)  # not 2.0: the thump is not speech
