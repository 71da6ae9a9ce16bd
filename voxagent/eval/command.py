"""`voxagent eval SUITE --app APP.py`: the command line of the eval (registered by voxagent.cli).

Exit codes: 0 the suite ran (and passed the gate, when one was given); 1 a gate failed, a turn
failed to run, or the suite/server could not be used; 2 a usage error.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from voxagent.cli.checks import check_tool_choice
from voxagent.cli.exits import UsageError
from voxagent.cli.output import err
from voxagent.cli.run import load_agent
from voxagent.distribution import pip_install

__all__ = ["add_eval_parser", "cmd_eval"]


def _number(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} must be between {low:g} and {high:g}")
        return value

    return parse


def add_eval_parser(sub: Any) -> None:
    """Register `eval` on the `voxagent` subcommand parsers."""
    p = sub.add_parser(
        "eval",
        help="score an app's tool calls on a suite of spoken turns (and a transcribe-first "
        "baseline)",
        description="Run a suite of spoken (or typed) turns against an app and score its tool "
        "calls, arguments, answers and latency. See docs/evals.md.",
    )
    p.add_argument("suite", help="the suite file (TOML; see docs/evals.md)")
    p.add_argument(
        "--app", help="FILE.py[:NAME], as `voxagent run` takes it (default: the suite's)"
    )
    p.add_argument("--base-url", help="server URL ending in /v1 (default: VOXAGENT_BASE_URL)")
    p.add_argument("--model", help="model name as the server serves it")
    p.add_argument(
        "--baseline",
        choices=["cascade"],
        help="also transcribe each clip (/v1/audio/transcriptions) and send the text",
    )
    p.add_argument(
        "--dry-tools",
        action="store_true",
        help="replace every tool by a recorder that answers a canned result (never runs it)",
    )
    p.add_argument("--concurrency", type=_number(int, 1, 64), help="runs at once (suite: 4)")
    p.add_argument("--seed", type=int, help="sampling and noise seed (suite: 0)")
    p.add_argument("--temperature", type=_number(float, 0, 2), help="sampling temperature (0)")
    p.add_argument("--max-tokens", type=_number(int, 1, 1_000_000), metavar="N")
    p.add_argument("--tool-choice", help="auto | none | required | TOOL for every turn")
    p.add_argument("--request-timeout", type=_number(float, 0.001, 86400), metavar="SECONDS")
    p.add_argument(
        "--snr", type=_number(float, -20, 80), action="append", metavar="DB",
        help="add noise at this SNR (repeatable; replaces the suite's perturbations)",
    )  # fmt: skip
    p.add_argument("--noise", help="white | brown | a noise recording (default white)")
    p.add_argument(
        "--speed", type=_number(float, 0.5, 2.0), action="append", metavar="FACTOR",
        help="also run at this speed, e.g. 0.9 and 1.1 (repeatable)",
    )  # fmt: skip
    p.add_argument("--telephone", action="store_true", help="also run through an 8 kHz phone line")
    p.add_argument("--no-perturb", action="store_true", help="clean audio only")
    p.add_argument("--case", action="append", metavar="GLOB", help="only cases whose id matches")
    p.add_argument("--tag", action="append", help="only cases with this tag (repeatable: any)")
    p.add_argument("--json", metavar="FILE", help="write the JSON report")
    p.add_argument("--html", metavar="FILE", help="write the HTML report")
    p.add_argument("--min-f1", type=_number(float, 0, 1), help="gate: every tool's F1 (audio)")
    p.add_argument(
        "--max-p95-ms", type=_number(float, 0, 1e9), help="gate: p95 of total latency (audio)"
    )


def _check_out(path: str | None, what: str) -> Path | None:
    if path is None:
        return None
    out = Path(path)
    if out.is_dir():
        raise UsageError(f"{what} {out}: that is a directory; give a file name")
    if not out.parent.is_dir():
        raise UsageError(f"{what} {out}: no such directory {out.parent}; create it first")
    return out


class _Progress:
    """Runs done, on stderr: a rich bar on a terminal, else a line per run."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._bar: Any = None
        self._task: Any = None
        if sys.stderr.isatty():
            # lazy: rich loads only on a terminal (and only for `voxagent eval`)
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self._bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self._task = self._bar.add_task("eval", total=total)
            self._bar.start()

    def __call__(self, done: int, total: int, run_id: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, description=f"eval {run_id[:40]}")
        else:
            err(f"eval: {done}/{total} runs done ({run_id})")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


async def cmd_eval(args: argparse.Namespace) -> int:
    """Run `voxagent eval`; return the exit code."""
    # lazy: httpx, numpy and pydantic load when an eval runs, not for `voxagent --help`
    from voxagent.client import ModelClient
    from voxagent.eval.perturb import load_noise, variants
    from voxagent.eval.plan import EvalOptions, plan_runs
    from voxagent.eval.report import apply_gate, build_report, to_json, write_atomically
    from voxagent.eval.runner import run_suite
    from voxagent.eval.suite import SuiteError, load_suite

    try:
        import rich  # noqa: F401  # lazy: only checking the report and progress can be shown
    except ImportError:
        raise UsageError(
            f"voxagent eval needs rich for its report: {pip_install('eval')}"
        ) from None
    json_out = _check_out(args.json, "--json")
    html_out = _check_out(args.html, "--html")
    suite = load_suite(args.suite)
    app = args.app or suite.app
    if not app:
        raise UsageError("no app to evaluate: give --app APP.py[:NAME] (or app in the suite)")
    cases = suite.cases
    if args.case:
        cases = tuple(c for c in cases if any(fnmatch.fnmatchcase(c.id, g) for g in args.case))
    if args.tag:
        cases = tuple(c for c in cases if set(c.tags) & set(args.tag))
    if not cases:
        raise UsageError("no case of the suite matches --case/--tag")
    suite = replace(suite, cases=cases)

    agent = load_agent(app)
    tools = {t.name: t.parameters for t in agent.registry}
    suite.check_tools(tools)
    choice = args.tool_choice or suite.tool_choice
    if choice:
        check_tool_choice(choice, list(tools))
    base_url = args.base_url or agent.base_url or os.environ.get("VOXAGENT_BASE_URL")
    if not base_url:
        raise UsageError(
            "no server to evaluate against: pass --base-url http://HOST:PORT/v1 (or set "
            "VOXAGENT_BASE_URL); `voxagent serve MODEL` starts one"
        )
    perturb = suite.perturbations
    if args.no_perturb:
        chosen = variants([], "white", [], False)
    elif args.snr or args.speed or args.telephone:
        chosen = variants(args.snr or [], args.noise or "white", args.speed or [], args.telephone)
    else:
        chosen = variants(
            perturb.snr_db, args.noise or perturb.noise, perturb.speed, perturb.telephone
        )
    noise = None
    noise_name = next((v.noise for v in chosen if v.kind == "noise"), "white")
    if noise_name not in ("white", "brown"):
        try:
            noise = load_noise(noise_name)
        except (OSError, RuntimeError, ValueError) as exc:
            raise SuiteError(
                f"cannot use the noise recording {noise_name}: {exc}",
                hint="give a wav/flac/ogg file of noise, or --noise white|brown",
            ) from None

    model = args.model or agent.model
    async with ModelClient(base_url, model=model) as client:
        model = (await client.resolve_model()).id
    columns = ("audio", "cascade") if args.baseline == "cascade" else ("audio",)
    options = EvalOptions(
        app=app,
        load_app=load_agent,
        base_url=base_url,
        model=model,
        columns=columns,
        variants=tuple(chosen),
        noise=noise,
        dry_tools=args.dry_tools,
        concurrency=args.concurrency or suite.concurrency,
        seed=suite.seed if args.seed is None else args.seed,
        temperature=suite.temperature if args.temperature is None else args.temperature,
        max_tokens=args.max_tokens or suite.max_tokens,
        tool_choice=choice,
        request_timeout=args.request_timeout,
        dry_results=suite.dry_results,
    )
    runs = len(plan_runs(suite, options.variants))
    err(
        f"eval: {len(suite.cases)} cases, {runs} runs x {len(columns)} column(s) against "
        f"{model} ({'recorded' if args.dry_tools else 'real'} tools)"
    )
    progress = _Progress(runs)
    try:
        outcomes = await run_suite(suite, options, progress)
    finally:
        progress.close()
    report = build_report(
        suite,
        outcomes,
        columns=columns,
        tools=list(tools),
        variants=[v.label for v in chosen],
        runs=runs,
        model=model,
        base_url=base_url,
        seed=options.seed,
        dry_tools=args.dry_tools,
    )
    failed = apply_gate(report, min_f1=args.min_f1, max_p95_ms=args.max_p95_ms)
    from voxagent.eval.report_terminal import render_terminal  # lazy: rich

    render_terminal(report, sys.stdout)
    if json_out is not None:
        write_atomically(json_out, to_json(report))
        err(f"eval: JSON report written to {json_out}")
    if html_out is not None:
        from voxagent.eval.report_html import render_html  # lazy: only with --html

        write_atomically(html_out, render_html(report, html_out))
        err(f"eval: HTML report written to {html_out}")
    errors = sum(report["scores"][c]["errors"] for c in columns)
    if errors:
        err(f"error: {errors} turns failed to run (their errors are in the report)")
        return 1
    if failed:
        err("error: the gate failed: " + "; ".join(failed))
        return 1
    return 0
