"""Endpointing accuracy and CPU cost per VAD scorer, over synthesized speech with known boundaries.

For each scorer and noise condition it reports: the fraction of utterances detected exactly once,
median and 95th-percentile absolute error of the detected start and end, the worst delay between
the true end and the end decision, and CPU seconds per second of audio (scoring + endpointing).

Usage:  python tools/bench_endpointing.py [--scorers energy,webrtc,silero] [--per-language 6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import speech  # the sibling tools/speech.py

from voxagent.audio.convert import SAMPLE_RATE  # after the path setup
from voxagent.audio.endpointing import Endpointer, EndpointerSettings, VoiceEnd
from voxagent.audio.sources import Frame
from voxagent.audio.vad import make_scorer

CONDITIONS: list[tuple[str | None, float]] = [
    (None, 0.0),
    ("white", 20.0),
    ("white", 10.0),
    ("brown", 20.0),
    ("brown", 10.0),
    ("white", 5.0),
    ("brown", 5.0),
]


@dataclass
class Result:
    """Accuracy of one scorer under one condition."""

    scorer: str
    condition: str
    items: int
    exactly_once: float
    start_median: float
    start_p95: float
    end_median: float
    end_p95: float
    decision_delay_max: float
    cpu_per_audio_s: float

    def row(self) -> str:
        """One table row."""
        return (
            f"{self.scorer:7} {self.condition:10} {self.items:4d} {self.exactly_once:6.1%} "
            f"{self.start_median * 1000:6.0f} {self.start_p95 * 1000:6.0f} "
            f"{self.end_median * 1000:6.0f} {self.end_p95 * 1000:6.0f} "
            f"{self.decision_delay_max * 1000:7.0f} {self.cpu_per_audio_s:8.4%}"
        )


HEADER = (
    "scorer  condition  items  once  start ms (med p95)  end ms (med p95)  "
    "decide-max ms  cpu/audio-s"
)


def run_endpointer(
    samples: np.ndarray, scorer: str, settings: EndpointerSettings | None = None
) -> tuple[list[VoiceEnd], float]:
    """Feed 20 ms frames through a fresh endpointer; return the ends and CPU seconds used."""
    endpointer = Endpointer(settings or EndpointerSettings(), make_scorer(scorer))
    block = SAMPLE_RATE // 50
    ends: list[VoiceEnd] = []
    cpu = time.process_time()
    for offset in range(0, samples.size, block):
        result = endpointer.feed(Frame(samples[offset : offset + block], offset / SAMPLE_RATE))
        if isinstance(result, VoiceEnd):
            ends.append(result)
    final = endpointer.flush()
    if final is not None:
        ends.append(final)
    return ends, time.process_time() - cpu


def evaluate(
    items: list[speech.Item],
    scorer: str,
    noise: str | None,
    snr_db: float,
    settings: EndpointerSettings | None = None,
) -> Result:
    """Measure one scorer on every item under one noise condition."""
    once = 0
    start_err: list[float] = []
    end_err: list[float] = []
    delays: list[float] = []
    cpu = 0.0
    audio_s = 0.0
    for n, item in enumerate(items):
        audio = speech.mix(item, noise, snr_db, seed=n)
        ends, used = run_endpointer(audio, scorer, settings)
        cpu += used
        audio_s += audio.size / SAMPLE_RATE
        if len(ends) == 1:
            once += 1
            utterance = ends[0].utterance
            start_err.append(abs(utterance.start - item.start))
            end_err.append(abs(utterance.end - item.end))
            delays.append((utterance.detected_at or utterance.end) - item.end)
    condition = "clean" if noise is None else f"{noise}@{snr_db:g}dB"
    return Result(
        scorer,
        condition,
        len(items),
        once / len(items),
        _median(start_err),
        _p95(start_err),
        _median(end_err),
        _p95(end_err),
        max(delays, default=float("nan")),
        cpu / audio_s,
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Print the table for every scorer and condition."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scorers", default="energy,webrtc,silero")
    parser.add_argument("--per-language", type=int, default=6)
    args = parser.parse_args(argv)
    if not speech.have_espeak():
        print("espeak-ng is not installed: apt-get install espeak-ng", file=sys.stderr)
        return 2
    items = speech.corpus(args.per_language)
    print(f"{len(items)} utterances, {len(speech.LANGUAGES)} languages, 20 ms frames")
    print(HEADER)
    for scorer in args.scorers.split(","):
        for noise, snr in CONDITIONS:
            print(evaluate(items, scorer, noise, snr).row(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
