"""`voxagent eval`: does the agent pick the right tool from speech? Measured per tool.

A suite (TOML, `load_suite`) lists cases of spoken or typed turns and the tool calls, or no
call, or answer text each should produce. `run_suite` runs them against an app's agent (fresh
per run, optionally with recorders instead of tools, optionally with perturbed audio, optionally
also through a transcribe-first baseline); `score_outcomes` scores them; the reports are a rich
table, JSON and a self-contained HTML page. See docs/evals.md.

Modules: `suite_format` (the file format), `suite` (loading and resolving it), `constraints`
(argument checks), `perturb` (noise, speed, telephone), `dry` (recorders), `plan` (options and
the runs), `clips` (a run's audio), `runner`, `outcomes`, `scoring`, `report` (JSON and the
gate), `report_terminal`, `report_html`, `command` (the CLI).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxagent._lazy import lazy_exports

# name -> the module that defines it (see voxagent._lazy).
_EXPORTS: dict[str, str] = {
    "Constraint": "voxagent.eval.constraints",
    "parse_constraint": "voxagent.eval.constraints",
    "dry_registry": "voxagent.eval.dry",
    "Recorder": "voxagent.eval.dry",
    "ActualCall": "voxagent.eval.outcomes",
    "TurnOutcome": "voxagent.eval.outcomes",
    "EvalOptions": "voxagent.eval.plan",
    "run_suite": "voxagent.eval.runner",
    "score_column": "voxagent.eval.scoring",
    "score_outcomes": "voxagent.eval.scoring",
    "load_suite": "voxagent.eval.suite",
    "Suite": "voxagent.eval.suite",
    "SuiteError": "voxagent.eval.suite",
    "suite_schema": "voxagent.eval.suite_format",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from voxagent.eval.constraints import (
        Constraint as Constraint,
        parse_constraint as parse_constraint,
    )
    from voxagent.eval.dry import (
        Recorder as Recorder,
        dry_registry as dry_registry,
    )
    from voxagent.eval.outcomes import (
        ActualCall as ActualCall,
        TurnOutcome as TurnOutcome,
    )
    from voxagent.eval.plan import EvalOptions as EvalOptions
    from voxagent.eval.runner import run_suite as run_suite
    from voxagent.eval.scoring import (
        score_column as score_column,
        score_outcomes as score_outcomes,
    )
    from voxagent.eval.suite import (
        Suite as Suite,
        SuiteError as SuiteError,
        load_suite as load_suite,
    )
    from voxagent.eval.suite_format import suite_schema as suite_schema
