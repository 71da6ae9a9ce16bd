"""`voxagent eval`: does the agent pick the right tool from speech? Measured per tool.

A suite (TOML, `load_suite`) lists cases of spoken or typed turns and the tool calls, or no
call, or answer text each should produce. `run_suite` runs them against an app's agent (fresh
per run, optionally with recorders instead of tools, optionally with perturbed audio, optionally
also through a transcribe-first baseline); `score_outcomes` scores them; the reports are a rich
table, JSON and a self-contained HTML page. See docs/evals.md.

Modules: `suite` (the file format), `constraints` (argument checks), `perturb` (noise, speed,
telephone), `dry` (recorders), `runner`, `outcomes`, `scoring`, `report` (JSON and the gate),
`report_terminal`, `report_html`, `command` (the CLI).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> module; loaded on first use, so `voxagent --help` (which registers the eval command
# from voxagent.eval.command) imports neither numpy nor pydantic.
_EXPORTS: dict[str, str] = {
    "ActualCall": "voxagent.eval.outcomes",
    "Constraint": "voxagent.eval.constraints",
    "EvalOptions": "voxagent.eval.runner",
    "Recorder": "voxagent.eval.dry",
    "Suite": "voxagent.eval.suite",
    "SuiteError": "voxagent.eval.suite",
    "TurnOutcome": "voxagent.eval.outcomes",
    "dry_registry": "voxagent.eval.dry",
    "load_suite": "voxagent.eval.suite",
    "parse_constraint": "voxagent.eval.constraints",
    "run_suite": "voxagent.eval.runner",
    "score_column": "voxagent.eval.scoring",
    "score_outcomes": "voxagent.eval.scoring",
    "suite_schema": "voxagent.eval.suite",
}

__all__ = [
    "ActualCall",
    "Constraint",
    "EvalOptions",
    "Recorder",
    "Suite",
    "SuiteError",
    "TurnOutcome",
    "dry_registry",
    "load_suite",
    "parse_constraint",
    "run_suite",
    "score_column",
    "score_outcomes",
    "suite_schema",
]

if TYPE_CHECKING:
    from voxagent.eval.constraints import Constraint, parse_constraint
    from voxagent.eval.dry import Recorder, dry_registry
    from voxagent.eval.outcomes import ActualCall, TurnOutcome
    from voxagent.eval.runner import EvalOptions, run_suite
    from voxagent.eval.scoring import score_column, score_outcomes
    from voxagent.eval.suite import Suite, SuiteError, load_suite, suite_schema


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'voxagent.eval' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
