"""The results table and docs/benchmarks.md (machine, date, command, table, explanations)."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

from common import ROOT, Row

DOC = ROOT / "docs" / "benchmarks.md"
NOTES = Path(__file__).with_name("notes.md")


def table(rows: list[Row]) -> str:
    """A markdown table of the rows."""
    lines = ["| # | measurement | result | bar | met |", "|---|---|---|---|---|"]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        lines.append(f"| {row.number} | {row.name} | {row.result} | {row.bar} | {met} |")
    return "\n".join(lines)


def machine() -> str:
    """One line describing where the benchmark ran."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores (`nproc`), {cpu}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average at the end: {load}"
    )


def write_doc(results: str, command: str, elapsed: float) -> None:
    """Write docs/benchmarks.md: header, the table, then the hand-written notes."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = f"""# Benchmarks

What voxagent adds on top of the model's own time, measured so anyone can check. Every figure is
a median/p95 or a ratio over repeated runs, with the contenders interleaved in the same run after
a warm-up, so background load hits them alike.

- Command: `{command}` ({elapsed / 60:.1f} minutes)
- Machine: {machine()}
- Date: {now}
- A 2-core machine is noisy (the load average above says how busy it was): absolute times move
  between runs; the ratios and side-by-side medians are the figures to read.

## Results

{results}
"""
    DOC.write_text(head + "\n" + _sections_after_results())


def _sections_after_results() -> str:
    """What follows the results table: the document's own sections when it has them (other
    benchmarks write theirs there, by hand or by their own command), else the notes."""
    if DOC.exists():
        text = DOC.read_text()
        results = text.find("\n## Results\n")
        after = text.find("\n## ", results + 1) if results >= 0 else -1
        if after >= 0:
            return text[after + 1 :]
    return NOTES.read_text() if NOTES.exists() else ""
