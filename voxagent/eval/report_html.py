"""The HTML report: one self-contained file (inline CSS and SVG charts, no network, no CDN).

Charts: per-tool F1 bars for both columns, per-stage latency distributions (every turn a dot,
p50 and p95 marked), the confusion table as a heat map; then the summary, tags and failures
(each with an audio player pointing at the take, so a person can listen). Every text from
outside is escaped. A few lines of inline script record, after layout, how many chart marks the
browser drew (`<body data-rendered=...>`), which the test reads from a headless Chromium.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["render_html"]

_COLOURS = {"audio": "#2563eb", "cascade": "#ea580c"}
_MAX_FAILURES = 500


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _f1_chart(report: dict[str, Any]) -> str:
    columns = report["columns"]
    scores = report["scores"]
    names = sorted({n for c in columns for n in scores[c]["tools"]})
    label_w, bar_w, row_h, bar_h = 190, 420, 14 * len(columns) + 14, 12
    height = 30 + row_h * max(len(names), 1) + 10
    parts = [
        f'<svg class="chart" id="f1-chart" role="img" aria-label="F1 per tool" '
        f'width="{label_w + bar_w + 70}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in range(0, 11, 2):
        x = label_w + bar_w * tick / 10
        parts.append(
            f'<line x1="{x}" y1="18" x2="{x}" y2="{height - 8}" class="grid"/>'
            f'<text x="{x}" y="12" class="axis" text-anchor="middle">{tick / 10:g}</text>'
        )
    for i, name in enumerate(names):
        y0 = 26 + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + row_h / 2}" class="label" '
            f'text-anchor="end">{_e(name)}</text>'
        )
        for j, column in enumerate(columns):
            f1 = scores[column]["tools"].get(name, {}).get("f1")
            y = y0 + j * (bar_h + 2)
            width = 0.0 if f1 is None else bar_w * f1
            parts.append(
                f'<rect class="mark bar" data-tool="{_e(name)}" data-column="{column}" '
                f'data-value="{"" if f1 is None else f"{f1:.6f}"}" x="{label_w}" y="{y}" '
                f'width="{max(width, 1.0):.2f}" height="{bar_h}" fill="{_COLOURS[column]}">'
                f"<title>{_e(name)} {column}: F1 {_f(f1)}</title></rect>"
                f'<text x="{label_w + width + 4:.2f}" y="{y + bar_h - 2}" class="value">'
                f"{_f(f1)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _latency_chart(report: dict[str, Any]) -> str:
    columns = report["columns"]
    scores = report["scores"]
    stages = [
        s
        for s in scores[columns[0]]["latency_ms"]
        if any(scores[c]["latency_ms"][s]["n"] for c in columns)
    ]
    if not stages:
        return '<p class="note">No latency was measured (every turn failed).</p>'
    label_w, plot_w, lane_h = 190, 480, 22
    row_h = lane_h * len(columns) + 12
    height = 24 + row_h * len(stages)
    top = max(max(scores[c]["latency_ms"][s]["values"] or [0.0]) for c in columns for s in stages)
    top = top * 1.05 or 1.0
    parts = [
        f'<svg class="chart" id="latency-chart" role="img" aria-label="latency per stage" '
        f'width="{label_w + plot_w + 40}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in range(0, 6):
        x = label_w + plot_w * tick / 5
        parts.append(
            f'<line x1="{x}" y1="16" x2="{x}" y2="{height}" class="grid"/>'
            f'<text x="{x}" y="12" class="axis" text-anchor="middle">'
            f"{top * tick / 5:.0f} ms</text>"
        )
    for i, stage in enumerate(stages):
        y0 = 22 + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y0 + row_h / 2}" class="label" '
            f'text-anchor="end">{_e(stage)}</text>'
        )
        for j, column in enumerate(columns):
            stats = scores[column]["latency_ms"][stage]
            y = y0 + j * lane_h + lane_h / 2
            colour = _COLOURS[column]
            for value in stats["values"]:
                x = label_w + plot_w * value / top
                parts.append(
                    f'<circle class="mark dot" data-stage="{stage}" data-column="{column}" '
                    f'cx="{x:.2f}" cy="{y:.2f}" r="3" fill="{colour}" fill-opacity="0.45"/>'
                )
            for key, size in (("p50", 7), ("p95", 5)):
                if stats[key] is not None:
                    x = label_w + plot_w * stats[key] / top
                    parts.append(
                        f'<rect class="mark {key}" x="{x - 1:.2f}" y="{y - size:.2f}" '
                        f'width="2" height="{2 * size}" fill="{colour}">'
                        f"<title>{column} {stage} {key} {stats[key]:.0f} ms</title></rect>"
                    )
    parts.append("</svg>")
    return "".join(parts)


def _confusion(column: str, confusion: dict[str, Any]) -> str:
    labels = confusion["labels"]
    matrix = confusion["matrix"]
    top = max([n for row in matrix.values() for n in row.values()] or [0]) or 1
    head = "".join(f"<th>{_e(label)}</th>" for label in labels)
    rows = []
    for want in labels:
        cells = []
        for got in labels:
            n = matrix[want][got]
            hue = "34,139,34" if want == got else "220,38,38"
            alpha = 0.08 + 0.8 * n / top if n else 0
            cells.append(
                f'<td class="cell" style="background: rgba({hue},{alpha:.2f})">{n or "·"}</td>'
            )
        rows.append(f"<tr><th>{_e(want)}</th>{''.join(cells)}</tr>")
    return (
        f'<table class="confusion" data-column="{column}"><caption>{column}: expected ↓, '
        f"called →</caption><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )


def _summary(report: dict[str, Any]) -> str:
    columns = report["columns"]
    scores = report["scores"]
    head = "".join(f"<th>{c}</th>" for c in columns)
    rows = []
    for label, key in (
        ("turns right", "turn_accuracy"),
        ("arguments right", "argument_accuracy"),
        ("no call when none expected", "no_call"),
        ("answer checks", "answers"),
    ):
        cells = "".join(
            f"<td>{_pct(scores[c][key]['value'])} ({scores[c][key]['correct']}/"
            f"{scores[c][key]['total']})</td>"
            for c in columns
        )
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    for label, key in (("micro F1", "f1"), ("micro precision", "precision")):
        cells = "".join(f"<td>{_f(scores[c]['micro'][key])}</td>" for c in columns)
        rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    rows.append(
        "<tr><th>errors</th>"
        + "".join(f"<td>{scores[c]['errors']}</td>" for c in columns)
        + "</tr>"
    )
    rows.append(
        "<tr><th>tokens per turn</th>"
        + "".join(f"<td>{_f(scores[c]['tokens']['per_turn'])}</td>" for c in columns)
        + "</tr>"
    )
    for stage in scores[columns[0]]["latency_ms"]:
        stage_cells: list[str] = []
        for c in columns:
            s = scores[c]["latency_ms"][stage]
            stage_cells.append(
                f"<td>{s['p50']:.0f} / {s['p95']:.0f} ms</td>" if s["n"] else "<td>-</td>"
            )
        rows.append(f"<tr><th>{stage} p50 / p95</th>{''.join(stage_cells)}</tr>")
    return f'<table class="summary"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _tools_table(report: dict[str, Any]) -> str:
    columns = report["columns"]
    scores = report["scores"]
    head = "".join(f"<th>{c} P</th><th>{c} R</th><th>{c} F1</th>" for c in columns)
    rows = []
    for name in sorted({n for c in columns for n in scores[c]["tools"]}):
        cells = ""
        for c in columns:
            t = scores[c]["tools"].get(name, {})
            cells += f"<td>{_f(t.get('precision'))}</td><td>{_f(t.get('recall'))}</td>"
            cells += f"<td>{_f(t.get('f1'))}</td>"
        rows.append(f"<tr><th>{_e(name)}</th>{cells}</tr>")
    return f'<table class="tools"><tr><th>tool</th>{head}</tr>{"".join(rows)}</table>'


def _tags(report: dict[str, Any]) -> str:
    columns = report["columns"]
    head = "".join(f"<th>{c} micro F1</th><th>{c} turns right</th>" for c in columns)
    rows = []
    for tag, per in report["by_tag"].items():
        cells = "".join(
            f"<td>{_f(per[c]['micro']['f1'])}</td><td>{_pct(per[c]['turn_accuracy']['value'])}</td>"
            for c in columns
        )
        rows.append(f"<tr><th>{_e(tag)}</th>{cells}</tr>")
    return f'<table class="tags"><tr><th>tag</th>{head}</tr>{"".join(rows)}</table>'


def _failures(report: dict[str, Any], base: Path) -> str:
    failures = report["failures"]
    if not failures:
        return "<p>No failures.</p>"
    rows = []
    for failure in failures[:_MAX_FAILURES]:
        audio = failure["audio"]
        player = ""
        if audio:
            rel = quote(os.path.relpath(audio, base).replace(os.sep, "/"))
            player = f'<br><audio controls preload="none" src="{_e(rel)}"></audio>'
        actual = json.dumps(failure["actual"], ensure_ascii=False)
        rows.append(
            f"<tr><td>{_e(failure['run_id'])}<br>{failure['column']} turn {failure['turn']}"
            f"{player}</td><td>{_e(audio or failure['text'] or '')}</td>"
            f"<td><code>{_e(json.dumps(failure['expected'], ensure_ascii=False))}</code></td>"
            f"<td><code>{_e(actual)}</code></td>"
            f"<td>{'<br>'.join(_e(r) for r in failure['reasons'])}</td></tr>"
        )
    more = (
        f"<p>… and {len(failures) - _MAX_FAILURES} more (see the JSON report).</p>"
        if len(failures) > _MAX_FAILURES
        else ""
    )
    return (
        '<table class="failures"><tr><th>run</th><th>input</th><th>expected</th>'
        f"<th>actual</th><th>why</th></tr>{''.join(rows)}</table>{more}"
    )


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #111; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }
th { background: #f6f6f6; text-align: left; }
table.failures td { text-align: left; max-width: 420px; word-break: break-word; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
.grid { stroke: #e5e5e5; } .axis, .value { font-size: 11px; fill: #555; }
.label { font-size: 12px; fill: #111; } .note, .meta { color: #555; }
.legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }
"""

_SCRIPT = """
addEventListener('load', () => {
  const drawn = {};
  for (const svg of document.querySelectorAll('svg.chart')) {
    drawn[svg.id] = [...svg.querySelectorAll('.mark')].filter(m => {
      const r = m.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length;
  }
  document.body.dataset.rendered = JSON.stringify(drawn);
});
"""


def render_html(report: dict[str, Any], path: Path) -> str:
    """The report as one HTML page (audio links relative to `path`'s folder)."""
    columns = report["columns"]
    legend = "".join(
        f'<span style="background:{_COLOURS[c]}"></span>{"audio-native" if c == "audio" else c}'
        for c in columns
    )
    gate = report.get("gate", {})
    gate_html = "".join(f'<p class="gate">gate failed: {_e(g)}</p>' for g in gate.get("failed", []))
    confusions = "".join(_confusion(c, report["scores"][c]["confusion"]) for c in columns)
    meta = (
        f"{report['runs']} runs, {report['turns']} turns · model {_e(report.get('model') or '?')} "
        f"· seed {report['seed']} · perturbations {_e(', '.join(report['variants']))}"
        f" · tools {'recorded (--dry-tools)' if report.get('dry_tools') else 'run for real'}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>voxagent eval: {_e(report["suite"])}</title><style>{_STYLE}</style></head>
<body data-rendered="">
<h1>voxagent eval: {_e(report["suite"])}</h1>
<p class="meta">{meta}</p>{gate_html}
<p class="legend">{legend}</p>
<h2>F1 per tool</h2>{_f1_chart(report)}
{_tools_table(report)}
<h2>Latency per stage (each turn a dot; tall tick p50, short tick p95)</h2>{_latency_chart(report)}
<h2>Confusion</h2>{confusions}
<h2>Summary</h2>{_summary(report)}
<h2>By tag</h2>{_tags(report)}
<h2>Failures ({len(report["failures"])})</h2>{_failures(report, path.resolve().parent)}
<script>{_SCRIPT}</script>
</body></html>
"""
