"""The terminal report: rich tables, both columns side by side.

Everything shown that came from outside (tool names the model made up, answers, paths) goes
through `voxagent.text.printable` and rich's markup escaping, so it cannot drive the terminal.
"""

from __future__ import annotations

import os
from typing import Any, TextIO

from voxagent.text import printable

__all__ = ["render_terminal"]

_MAX_FAILURES = 20


def _num(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.1f}%" if pct else f"{value:.3f}"


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.0f}"


def _safe(text: Any) -> str:
    from rich.markup import escape

    return escape(printable(str(text)))


def _near(path: str) -> str:
    """A take's path relative to the working directory when it is under it (shorter lines)."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative


def render_terminal(report: dict[str, Any], out: TextIO, *, width: int | None = None) -> None:
    """Write the report's tables to `out` (colour only when it is a terminal)."""
    from rich.console import Console
    from rich.table import Table

    if width is None and not out.isatty():
        width = 160  # a file or a pipe: wide enough that both columns stay on one line
    console = Console(file=out, width=width, highlight=False, soft_wrap=False)
    columns: list[str] = report["columns"]
    scores = report["scores"]
    console.print(
        f"[bold]voxagent eval[/bold] {_safe(report['suite'])}: {report['runs']} runs, "
        f"model {_safe(report.get('model') or '?')}"
    )

    tools = Table(title="Tool calls: precision / recall / F1", title_justify="left")
    tools.add_column("tool")
    for column in columns:
        for what in ("P", "R", "F1"):
            tools.add_column(f"{column} {what}", justify="right")
    tools.add_column("expected", justify="right")
    names = sorted({name for c in columns for name in scores[c]["tools"]})
    for name in names:
        row = [_safe(name)]
        for column in columns:
            t = scores[column]["tools"].get(name, {})
            row += [_num(t.get("precision")), _num(t.get("recall")), _num(t.get("f1"))]
        row.append(str(scores[columns[0]]["tools"].get(name, {}).get("expected", 0)))
        tools.add_row(*row)
    micro = ["[bold]all (micro)[/bold]"]
    for column in columns:
        m = scores[column]["micro"]
        micro += [_num(m["precision"]), _num(m["recall"]), _num(m["f1"])]
    micro.append(str(scores[columns[0]]["micro"]["expected"]))
    tools.add_row(*micro)
    console.print(tools)

    summary = Table(title="Summary", title_justify="left")
    summary.add_column("measure")
    for column in columns:
        summary.add_column(column, justify="right")

    def ratio_row(label: str, key: str) -> None:
        cells = []
        for column in columns:
            r = scores[column][key]
            cells.append(f"{_num(r['value'], pct=True)} ({r['correct']}/{r['total']})")
        summary.add_row(label, *cells)

    ratio_row("turns right", "turn_accuracy")
    ratio_row("arguments right", "argument_accuracy")
    ratio_row("no call when none expected", "no_call")
    ratio_row("answer checks", "answers")
    summary.add_row("invalid arguments", *(str(scores[c]["invalid_arguments"]) for c in columns))
    summary.add_row("errors", *(str(scores[c]["errors"]) for c in columns))
    for stage in scores[columns[0]]["latency_ms"]:
        cells = []
        for column in columns:
            s = scores[column]["latency_ms"][stage]
            cells.append("-" if not s["n"] else f"{_ms(s['p50'])} / {_ms(s['p95'])}")
        if any(cell != "-" for cell in cells):
            summary.add_row(f"{stage} p50 / p95 ms", *cells)
    summary.add_row(
        "tokens per turn",
        *(_num(scores[c]["tokens"]["per_turn"]).rstrip("0").rstrip(".") for c in columns),
    )
    console.print(summary)

    args = Table(title="Argument accuracy", title_justify="left")
    args.add_column("tool.argument")
    for column in columns:
        args.add_column(column, justify="right")
    keys = sorted({(t, a) for c in columns for t, v in scores[c]["arguments"].items() for a in v})
    for tool, arg in keys:
        cells = []
        for column in columns:
            cell = scores[column]["arguments"].get(tool, {}).get(arg)
            cells.append(
                "-"
                if cell is None
                else f"{_num(cell['accuracy'], pct=True)} ({cell['correct']}/{cell['total']})"
            )
        args.add_row(_safe(f"{tool}.{arg}"), *cells)
    if keys:
        console.print(args)

    for column in columns:
        confusion = scores[column]["confusion"]
        labels = confusion["labels"]
        table = Table(title=f"Confusion ({column}): expected ↓, called →", title_justify="left")
        table.add_column("expected")
        for label in labels:
            table.add_column(_safe(label), justify="right")
        for want in labels:
            row = confusion["matrix"][want]
            if any(row.values()):
                table.add_row(_safe(want), *(str(row[got] or "·") for got in labels))
        console.print(table)

    if report["by_tag"]:
        tags = Table(title="By tag (micro F1 / turns right)", title_justify="left")
        tags.add_column("tag")
        for column in columns:
            tags.add_column(column, justify="right")
        for tag, per in report["by_tag"].items():
            cells = [
                f"{_num(per[c]['micro']['f1'])} / {_num(per[c]['turn_accuracy']['value'], True)}"
                for c in columns
            ]
            tags.add_row(_safe(tag), *cells)
        console.print(tags)

    failures = report["failures"]
    if failures:
        console.print(f"[bold]Failures[/bold] ({len(failures)}; the JSON report has them all):")
        for failure in failures[:_MAX_FAILURES]:
            where = _near(failure["audio"]) if failure["audio"] else failure["text"] or ""
            console.print(
                f"  {_safe(failure['run_id'])} ({failure['column']}) turn {failure['turn']}: "
                f"{_safe(where)}"
            )
            for reason in failure["reasons"]:
                console.print(f"      {_safe(reason)}")
        if len(failures) > _MAX_FAILURES:
            console.print(f"  … and {len(failures) - _MAX_FAILURES} more")
    for line in report.get("gate", {}).get("failed", []):
        console.print(f"[bold red]gate failed[/bold red]: {_safe(line)}")
