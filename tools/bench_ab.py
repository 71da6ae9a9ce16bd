"""Turn overhead (benchmark 1) and the real-server overhead (7): a base checkout against this one.

    git archive BASE_COMMIT | tar -x -C /tmp/base
    python tools/bench_ab.py --base /tmp/base [--rounds 3] [--repeats 40] [--real]

Each round runs measurement 1 (voxagent's turn vs a bare httpx loop replaying the same bytes,
`tools/bench/overhead.py`) once with the base's code and benchmark and once with this
checkout's, in fresh processes, alternating which goes first. Prints the medians over rounds of
the ratio voxagent / bare and the added milliseconds per turn, side by side. `--real` adds one
run per side of measurement 7 (the real vLLM CPU server, about two minutes each).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_TURNS = """
import json, sys, anyio
sys.path.insert(0, sys.argv[1] + "/tools/bench")
import overhead
from common import median
times, size = anyio.run(overhead.measure_turns, int(sys.argv[2]))
print(json.dumps({k: median(v) for k, v in times.items()}))
"""

_REAL = """
import json, sys, anyio
sys.path.insert(0, sys.argv[1] + "/tools/bench")
import overhead
rows = anyio.run(overhead.measure_real_server, int(sys.argv[2]))
print(json.dumps([row.result for row in rows]))
"""


def _run(tree: Path, script: str, repeats: int) -> Any:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", script, str(tree), str(repeats)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
        timeout=1200,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{tree}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the base checkout's root")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--real", action="store_true", help="also measurement 7 (vLLM CPU)")
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "this": ROOT}
    results: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
    started = time.time()
    for number in range(args.rounds):
        order = ["base", "this"] if number % 2 == 0 else ["this", "base"]
        for side in order:
            medians = _run(sides[side], _TURNS, args.repeats)
            results[side].append(medians)
            print(f"round {number + 1} {side}: {medians}", file=sys.stderr, flush=True)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, {args.rounds} rounds x "
        f"{args.repeats} turns, {os.cpu_count()} cores, load average at the end "
        + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        + "\n"
    )
    print("| code | streamed: ratio / added | not streamed: ratio / added |")
    print("|---|---|---|")
    for side, runs in results.items():
        cells = []
        for vox, bare in (("voxagent", "bare"), ("voxagent_nostream", "bare_nostream")):
            ratio = statistics.median(r[vox] / r[bare] for r in runs)
            added = statistics.median(r[vox] - r[bare] for r in runs)
            cells.append(f"{ratio:.3f} / {added * 1e3:.2f} ms")
        print(f"| {side} | {cells[0]} | {cells[1]} |")
    if args.real:
        for side in ("base", "this"):
            rows = _run(sides[side], _REAL, 12)
            ratios = [m for row in rows for m in re.findall(r"\*\*([\d.]+)\*\*", row)]
            print(f"real server, {side}: {rows[0] if rows else '-'} (ratios {ratios})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
