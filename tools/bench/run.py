#!/usr/bin/env python3
"""Run voxagent's benchmarks (issue 6) and write docs/benchmarks.md.

    .venv/bin/python tools/bench/run.py              # all, about 5-8 minutes on 2 cores
    .venv/bin/python tools/bench/run.py --quick      # short smoke run (does not write the doc)
    .venv/bin/python tools/bench/run.py --only scale # one measurement (does not write the doc)

Measurements: overhead (1, 2), imports (2), dispatch (3), endpointing (4), pipeline (5),
scale (6), realserver (7), memory (8), telemetry (9). Every figure is a median/p95 or ratio over
repeated runs, contenders interleaved in the same run after a warm-up.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
import audio  # the bench modules sit next to this script
import dispatch
import imports
import overhead
import report
from common import Row, run_worker


def _overhead(quick: bool) -> list[Row]:
    times, size = anyio.run(overhead.measure_turns, 10 if quick else 60)
    return overhead.turn_rows(times, size)


def _imports(quick: bool) -> list[Row]:
    return imports.rows(imports.measure(3 if quick else 9))


def _dispatch(quick: bool) -> list[Row]:
    return dispatch.rows(anyio.run(dispatch.measure, 3 if quick else 15))


def _endpointing(quick: bool) -> list[Row]:
    return audio.endpointing_rows(*anyio.run(audio.measure_endpointing, 2 if quick else 6))


def _pipeline(quick: bool) -> list[Row]:
    minutes = 1.0 if quick else 10.0
    alone = anyio.run(audio.measure_pipeline, minutes)
    with_model = anyio.run(audio.measure_pipeline, minutes, "auto")
    return audio.pipeline_rows(*alone, with_model=with_model)


def _scale(quick: bool) -> list[Row]:
    import scale

    sizes = (10, 100) if quick else (10, 100, 500, 1000)
    return scale.rows([run_worker("scale", str(n), timeout=400) for n in sizes])


def _realserver(quick: bool) -> list[Row]:
    return anyio.run(overhead.measure_real_server, 3 if quick else 12)


def _telemetry(quick: bool) -> list[Row]:
    import otel

    return otel.rows(*anyio.run(otel.measure, 10 if quick else 60))


def _memory(quick: bool) -> list[Row]:
    import memory

    turns = "20" if quick else "200"
    return memory.rows(run_worker("memory", "on", turns), run_worker("memory", "off", turns))


MEASUREMENTS: dict[str, Callable[[bool], list[Row]]] = {
    "overhead": _overhead,
    "imports": _imports,
    "dispatch": _dispatch,
    "endpointing": _endpointing,
    "pipeline": _pipeline,
    "scale": _scale,
    "realserver": _realserver,
    "memory": _memory,
    "telemetry": _telemetry,
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen measurements, print the table, write the doc after a full run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats; smoke run")
    parser.add_argument("--only", choices=sorted(MEASUREMENTS), action="append")
    parser.add_argument("--no-write", action="store_true", help="do not write the doc")
    args = parser.parse_args(argv)
    names = args.only or list(MEASUREMENTS)
    rows: list[Row] = []
    started = time.monotonic()
    for name in names:
        step = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            rows += MEASUREMENTS[name](args.quick)
        except Exception as exc:  # one broken measurement must not lose the others
            rows.append(Row(0, name, f"FAILED: {type(exc).__name__}: {str(exc)[:300]}"))
        print(f"[bench] {name} done in {time.monotonic() - step:.0f} s", file=sys.stderr)
    elapsed = time.monotonic() - started
    table = report.table(sorted(rows, key=lambda r: r.number))
    print(table)
    print(f"\n{elapsed:.0f} s in all", file=sys.stderr)
    if not (args.quick or args.only or args.no_write):
        command = "python " + " ".join(["tools/bench/run.py", *(argv or sys.argv[1:])])
        report.write_doc(table, command, elapsed)
        print(f"wrote {report.DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
