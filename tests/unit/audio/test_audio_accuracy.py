"""Endpointing accuracy over 48 synthesized utterances in 8 languages (the issue's bars).

Bars for the default scorer, at every SNR >= 10 dB (white and brown noise) and clean: each
utterance detected exactly once in >= 95% of cases, and the end decided within end silence +
100 ms of the true end. CPU cost is reported by tools/bench_endpointing.py, never asserted here.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from voxagent.audio import DEFAULT_VAD, EndpointerSettings

from .conftest import load_tool

CONDITIONS = [(None, 0.0), ("white", 20.0), ("white", 10.0), ("brown", 20.0), ("brown", 10.0)]


@pytest.fixture(scope="module")
def items(speech: ModuleType) -> list[object]:
    corpus = speech.corpus(per_language=6)
    assert len(corpus) >= 40
    return corpus


@pytest.mark.parametrize(("noise", "snr"), CONDITIONS, ids=lambda v: str(v))
def test_default_scorer_meets_the_bars(items: list[object], noise: str | None, snr: float) -> None:
    bench = load_tool("bench_endpointing")
    settings = EndpointerSettings()
    result = bench.evaluate(items, DEFAULT_VAD, noise, snr, settings)
    assert result.exactly_once >= 0.95, result.row()
    assert result.decision_delay_max <= settings.end_silence_s + 0.1, result.row()
    assert result.start_median <= 0.2, result.row()
    assert result.end_median <= 0.1, result.row()
