"""What a suite run is made of: the options it runs with and its plan of runs.

A run is one case with one take and one perturbation (`RunPlan`), run in each column; the
plan lists them in suite order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voxagent.eval.perturb import Samples, Variant

if TYPE_CHECKING:
    from voxagent.agent import Agent
    from voxagent.eval.suite import Case, Suite

__all__ = ["EvalOptions", "Progress", "RunPlan", "plan_runs"]

Progress = Callable[[int, int, str], None]
"""Called after each run with (runs done, runs in all, the run's id)."""


@dataclass(frozen=True)
class EvalOptions:
    """How to run a suite (the command line's choices over the suite's own).

    Attributes:
        app: `FILE.py[:NAME]`, as `voxagent run` takes it.
        base_url: The server (None: the app's, else VOXAGENT_BASE_URL).
        model: The served model (None: the app's, else the server's first).
        columns: ("audio",) or ("audio", "cascade").
        variants: The perturbations (the clean one first).
        noise: A loaded noise recording, for noise variants that name a file.
        dry_tools: Replace every tool by a recorder (see `voxagent.eval.dry`).
        concurrency: Runs at once.
        seed: Sampling and perturbation seed.
        temperature: Sampling temperature.
        max_tokens: Cap on each answer (None: the app's).
        tool_choice: tool_choice of every turn's first request (None: the app's).
        request_timeout: Seconds one request may take (None: the app's).
        load_app: Loads a fresh agent from `app` (the CLI's loader).
    """

    app: str
    load_app: Callable[[str], Agent[Any]]
    base_url: str | None = None
    model: str | None = None
    columns: tuple[str, ...] = ("audio",)
    variants: tuple[Variant, ...] = (Variant("clean"),)
    noise: Samples | None = None
    dry_tools: bool = False
    concurrency: int = 4
    seed: int = 0
    temperature: float = 0.0
    max_tokens: int | None = None
    tool_choice: str | None = None
    request_timeout: float | None = None
    dry_results: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunPlan:
    """One case, with one take and one perturbation (run in each column)."""

    case: Case
    take: int
    variant: Variant
    variant_index: int

    @property
    def run_id(self) -> str:
        name = self.case.take_names[self.take]
        run = self.case.id + (f"/{name}" if name else "")
        return run if self.variant.kind == "clean" else f"{run}@{self.variant.label}"


def plan_runs(suite: Suite, variants: tuple[Variant, ...]) -> list[RunPlan]:
    """Every (case, take, perturbation), in suite order. Text-only cases run clean only."""
    plans = []
    for case in suite.cases:
        has_audio = any(turn.takes for turn in case.turns)
        for take in range(len(case.take_names)):
            for index, variant in enumerate(variants if has_audio else variants[:1]):
                plans.append(RunPlan(case, take, variant, index))
    return plans
