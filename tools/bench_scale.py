"""Many sessions in one process: today's shared client against admission and aiohttp, side by side.

    python tools/bench_scale.py [--sizes 500,1000] [--reps 3] [--admit 16] [--json OUT]
                                [--base DIR]   # DIR: `git archive BASE | tar -x -C DIR`

Runs measurement 6 (`tools/bench/scale.py`: N entered Agents sharing one httpx client, 5 audio
turns each of a 3 s clip against a scripted server answering after 50 ms) once per variant, size
and repetition, each in a fresh process, the variants' order rotated from one repetition to the
next so background load hits them alike. Prints a Markdown table of medians over repetitions,
with each variant's ratio to `shared` (what voxagent did before `Admission`). With `--base`,
variant `today` is the base checkout's own code and benchmark (its `tools/bench/scale.py`, its
`voxagent`), run in the same rotation; `today+admission` is the base's code and benchmark in
its `admission` variant (so a change to this checkout is compared with admission on both
sides). Each run's line on stderr carries the load average when it ended.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "bench"))
from common import median, run_worker  # after the path

VARIANTS = ("today", "today+admission", "shared", "admission", "aiohttp", "aiohttp+admission")


def _base_worker(base: Path, size: int, variant: str) -> Any:
    """The base checkout's own measurement 6 (its code, its benchmark, the variant named)."""
    argv = [sys.executable, str(base / "tools" / "bench" / "scale.py"), str(size)]
    if variant == "today+admission":
        argv.append("admission")
    out = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        cwd=base,
        env={**os.environ, "PYTHONPATH": str(base)},
        timeout=900,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"base scale.py {size} failed:\n{out.stderr[-3000:]}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    if variant == "today":
        figures["admission_p50"] = None
    return {**figures, "variant": variant}


def measure(
    sizes: list[int],
    reps: dict[int, int],
    admit: int,
    base: Path | None,
    only: tuple[str, ...] = VARIANTS,
) -> list[dict[str, Any]]:
    """Every run's figures, in the order they ran."""
    os.environ["VOXAGENT_BENCH_ADMIT"] = str(admit)
    variants = tuple(v for v in only if not v.startswith("today") or base is not None)
    runs: list[dict[str, Any]] = []
    for size in sizes:
        for rep in range(reps[size]):
            order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
            for variant in order:
                if variant.startswith("today"):
                    assert base is not None
                    figures = _base_worker(base, size, variant)
                else:
                    figures = run_worker("scale", str(size), variant, timeout=900)
                figures["rep"] = rep
                figures["load"] = os.getloadavg()[0]
                runs.append(figures)
                print(
                    f"N={size} {variant:18} lag p99 {figures['lag_p99'] * 1e3:7.1f} ms, "
                    f"RSS {figures['rss_per_session'] / 1e6:.2f} MB/session, "
                    f"{figures['throughput']:.0f} turns/s, errors {figures['errors']}, "
                    f"load {figures['load']:.1f}",
                    file=sys.stderr,
                    flush=True,
                )
    return runs


def table(runs: list[dict[str, Any]]) -> str:
    """Medians per size and variant, ratios to `shared` of the same size."""
    lines = [
        "| N | variant | loop lag p99 | RSS/session | turns/s | turn p50 / p99 | admission "
        "wait p50 | errors | lag vs today | runs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    sizes = sorted({r["sessions"] for r in runs})
    for size in sizes:
        reference = "today" if any(r["variant"] == "today" for r in runs) else "shared"
        base = [r["lag_p99"] for r in runs if r["sessions"] == size and r["variant"] == reference]
        for variant in VARIANTS:
            mine = [r for r in runs if r["sessions"] == size and r["variant"] == variant]
            if not mine:
                continue
            lag = median([r["lag_p99"] for r in mine])
            ratio = f"{lag / median(base):.2f}" if base else "-"
            waits = [r["admission_p50"] for r in mine if r["admission_p50"] is not None]
            wait = f"{median(waits) * 1e3:.0f} ms" if waits else "-"
            lines.append(
                f"| {size} | {variant} | **{lag * 1e3:.1f} ms** | "
                f"**{median([r['rss_per_session'] for r in mine]) / 1e6:.2f} MB** | "
                f"{median([r['throughput'] for r in mine]):.0f} | "
                f"{median([r['p50'] for r in mine]) * 1e3:.0f} / "
                f"{median([r['p99'] for r in mine]) * 1e3:.0f} ms | {wait} | "
                f"{sum(r['errors'] for r in mine)} | {ratio} | {len(mine)} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000")
    parser.add_argument("--reps", default="3,1", help="repetitions per size, comma-separated")
    parser.add_argument("--admit", type=int, default=16, help="Admission(max_in_flight)")
    parser.add_argument("--json", type=Path, default=None, help="write every run's figures here")
    parser.add_argument("--base", type=Path, default=None, help="a base checkout: variant today")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="which, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(r) for r in args.reps.split(",")]
    reps = {size: counts[min(i, len(counts) - 1)] for i, size in enumerate(sizes)}
    started = time.time()
    load_start = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    only = tuple(v for v in args.variants.split(",") if v in VARIANTS)
    runs = measure(sizes, reps, args.admit, args.base.resolve() if args.base else None, only)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
        f"{(time.time() - started) / 60:.1f} min, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, Admission({args.admit}), load average at the start "
        f"{load_start}, at the end {load}\n"
    )
    print(table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
