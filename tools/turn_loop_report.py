"""The tables of tools/bench_turn_loop.py: per config, from per-turn `TurnRecord`s.

Every figure is in stream seconds after the labelled true end of speech (see that script for how
wall time is mapped to stream time); a record's loop columns are in its `extra` dict.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Config", "delay_line", "lateness_line", "markdown"]


@dataclass(frozen=True)
class Config:
    """One column of the comparison."""

    speculate: bool
    latency: float

    @property
    def name(self) -> str:
        return f"speculation {'on' if self.speculate else 'off'}, model {self.latency * 1000:g} ms"


def _stat(records: list[Any], key: str) -> str:
    values = [r.extra[key] for r in records if r.extra.get(key) is not None]
    if not values:
        return "-"
    p90 = float(np.percentile(np.asarray(values), 90))
    return f"{1000 * statistics.median(values):.0f} / {1000 * p90:.0f}"


def _split(record: Any) -> bool:
    """Whether the turn is reported apart: split before its end, or cancelled after it."""
    return bool(record.pauses_cut or record.splits or record.extra.get("cancelled"))


LATENCY_COLUMNS = [
    ("endpointer decided (stream time)", "endpointer"),
    ("loop has the decision (SpeechEnded)", "decision"),
    ("TurnStarted", "turn_started"),
    ("answered request leaves", "request"),
    ("first request after the end", "first_request"),
    ("read-only tool: ToolCallStarted", "lookup_event"),
    ("read-only tool: body ran", "lookup_ran"),
    ("side-effect tool: ToolCallStarted", "switch_event"),
    ("TurnCompleted", "answered"),
]


def _table(title: str, head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["", title, "", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]


SAVED = {
    "request": "answered request leaves",
    "lookup_ran": "read-only tool ran",
    "switch_event": "side-effect tool: ToolCallStarted",
    "answered": "TurnCompleted",
}


def _paired(pairs: list[tuple[float, float]]) -> str:
    """Medians with speculation and without, and the median and p90 of the per-turn saving."""
    on, off = (1000 * np.asarray(side) for side in zip(*pairs, strict=True))
    saving = off - on
    return (
        f"{np.median(on):.0f} / {np.median(off):.0f} ({np.median(saving):.0f},"
        f" {np.percentile(saving, 90):.0f})"
    )


def _ms(record: Any, key: str) -> str:
    value = record.extra.get(key)
    return "-" if value is None else f"{1000 * value:.0f}"


def markdown(records: list[Any], configs: list[Config]) -> str:
    """The tables: whole turns' moments, what speculation saved, its requests, turns apart."""
    moments, requests, apart, saved = [], [], [], []
    turns = [r for r in records if r.kind == "turn"]
    # Turns whole under every config: the same turns in every row.
    common = {r.scene for r in turns} - {r.scene for r in turns if _split(r)}
    for config in configs:
        mine = [r for r in turns if r.config == config.name]
        whole = [r for r in mine if r.scene in common]
        moments.append([config.name, len(whole)] + [_stat(whole, k) for _, k in LATENCY_COLUMNS])
        sent = sum(r.extra["sent"] for r in mine)
        wasted = sum(r.extra["wasted"] for r in mine)
        reasons = Counter(reason for r in mine for reason in r.extra["reasons"])
        share = f"{100 * wasted / sent:.0f}%" if sent else "-"
        why = ", ".join(f"{why}: {n}" for why, n in reasons.most_common()) or "-"
        runs = sum(r.extra["runs_wasted"] for r in mine)
        adopted = f"{sum(bool(r.extra.get('adopted')) for r in mine)}/{len(mine)}"
        requests.append([config.name, sent, wasted, share, why, runs, adopted])
        for r in filter(_split, mine):
            what = [f"{r.pauses_cut} pause, {r.splits} other"] if r.pauses_cut or r.splits else []
            what += ["cancelled by speech after the end"] if r.extra.get("cancelled") else []
            row = [config.name, r.scene, ", ".join(what), r.extra["turns"]]
            row += [r.extra.get("switched_early", 0), _ms(r, "request")]
            row += [f"{_ms(r, 'lookup_event')} / {_ms(r, 'switch_event')}", _ms(r, "answered")]
            apart.append(row)
        off = {r.scene: r for r in turns if r.config == Config(False, config.latency).name}
        used = [r for r in whole if r.extra.get("adopted") and r.scene in off]
        if config.speculate and used:
            cells = [_paired([(r.extra[k], off[r.scene].extra[k]) for r in used]) for k in SAVED]
            saved.append([f"model {config.latency * 1000:g} ms", len(used), *cells])
    head = ["config", "turns"] + [name for name, _ in LATENCY_COLUMNS]
    title = "True end of speech -> each moment, median / p90 in ms (turns whole in every config):"
    lines = _table(title, head, moments)
    head = ["config", "sent", "wasted (discarded)", "share wasted", "why discarded"]
    head += ["read-only runs in discarded ones", "turns answered from a speculation"]
    title = "Turns answered from a speculation: speculation on / off (median saved, p90), ms:"
    lines += _table(title, ["model", "turns", *SAVED.values()], saved)
    lines += _table("Speculative requests (all turns):", head, requests)
    head = ["config", "scene", "what happened", "turns run", "side-effect runs before the end"]
    head += ["answered request leaves", "read-only / side-effect ToolCallStarted", "turn ended"]
    title = "Turns split before their true end, or cancelled after it (ms after the true end):"
    return "\n".join(lines + _table(title, head, apart)).strip()


def lateness_line(jitter_s: list[float], backlog_s: list[float]) -> str:
    """The mapping's error (pacing jitter) and the frames the loop took late."""
    jitter = 1000 * np.asarray(jitter_s)
    backlog = 1000 * np.asarray(backlog_s or [np.nan])
    return (
        f"pacing jitter (frames asked for in time, {jitter.size} of"
        f" {jitter.size + len(backlog_s)}): median {np.median(jitter):.1f} ms, p99"
        f" {np.percentile(jitter, 99):.1f} ms, max {jitter.max():.1f} ms; frames taken late by"
        f" a busy loop: median {np.median(backlog):.1f} ms, max {np.max(backlog):.1f} ms"
    )


def delay_line(records: list[Any]) -> str:
    """How long after the endpointer decided (stream time) the loop had the decision."""
    delays = [r.extra["decision_delay"] for r in records if "decision_delay" in r.extra]
    if not delays:
        return "decision delivered after the endpointer made it: no decided turn"
    late = 1000 * np.asarray(delays)
    return (
        f"decision delivered after the endpointer made it (its detector call, frames backlogged"
        f" behind earlier calls), {late.size} turns: median {np.median(late):.0f} ms, p90"
        f" {np.percentile(late, 90):.0f} ms, max {late.max():.0f} ms"
    )
