"""The report: scores, breakdowns, failures and every turn, as one JSON-ready dict; the CI gate."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voxagent.eval.outcomes import TurnOutcome
from voxagent.eval.scoring import score_outcomes
from voxagent.eval.suite import Suite

__all__ = ["REPORT_VERSION", "apply_gate", "build_report", "write_atomically"]

REPORT_VERSION = 1


def build_report(
    suite: Suite,
    outcomes: Sequence[TurnOutcome],
    *,
    columns: Sequence[str],
    tools: Sequence[str],
    variants: Sequence[str],
    runs: int,
    model: str | None,
    base_url: str | None,
    seed: int,
    dry_tools: bool,
) -> dict[str, Any]:
    """Everything the terminal, JSON and HTML reports show."""
    scored = score_outcomes(outcomes, columns, tools)
    return {
        "version": REPORT_VERSION,
        "suite": suite.name,
        "suite_path": str(suite.path),
        "model": model,
        "base_url": base_url,
        "seed": seed,
        "dry_tools": dry_tools,
        "columns": list(columns),
        "variants": list(variants),
        "tools": list(tools),
        "runs": runs,
        "turns": len(outcomes),
        **scored,
        "outcomes": [o.to_dict() for o in outcomes],
    }


def apply_gate(
    report: dict[str, Any], *, min_f1: float | None, max_p95_ms: float | None
) -> list[str]:
    """Check the audio-native column against the gate; record and return what failed.

    `min_f1`: every tool with a defined F1 (something expected or called) must reach it.
    `max_p95_ms`: the p95 of `total` must not exceed it. Turns that errored fail the gate too.
    """
    failed: list[str] = []
    scores = report["scores"]["audio"]
    if min_f1 is not None:
        for name, tool in scores["tools"].items():
            if tool["f1"] is not None and tool["f1"] < min_f1:
                failed.append(f"{name}: F1 {tool['f1']:.3f} < {min_f1:g}")
    if max_p95_ms is not None:
        p95 = scores["latency_ms"]["total"]["p95"]
        if p95 is not None and p95 > max_p95_ms:
            failed.append(f"total latency p95 {p95:.0f} ms > {max_p95_ms:g} ms")
    if (min_f1 is not None or max_p95_ms is not None) and scores["errors"]:
        failed.append(f"{scores['errors']} turns failed to run")
    report["gate"] = {"min_f1": min_f1, "max_p95_ms": max_p95_ms, "failed": failed}
    return failed


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder (never half a file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_json(report: dict[str, Any]) -> str:
    """The JSON report's text (ASCII-safe, NaN-free)."""
    return json.dumps(report, indent=1, ensure_ascii=True, allow_nan=False, default=str) + "\n"
