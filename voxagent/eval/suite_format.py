"""The suite file's format: pydantic models of the TOML, strict (extra keys are refused).

A typo in a suite is an error, not a silently ignored expectation. `voxagent.eval.suite` reads a
file with these models and resolves it into a `Suite`; `suite_schema()` is the JSON Schema of
the format (published as docs/eval-suite.schema.json; the model names are its titles).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voxagent.eval.constraints import Constraint, ConstraintError, parse_constraint

__all__ = ["ExpectSpec", "ExpectedCall", "PerturbationSpec", "suite_schema"]

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedCall(_Strict):
    """One tool call the agent should make.

    Attributes:
        tool: The tool's name.
        args: Argument name -> a value (must be equal) or a constraint table (see
            `voxagent.eval.constraints`). Arguments not named are not checked.
    """

    tool: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("args")
    @classmethod
    def _constraints_parse(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, raw in value.items():
            try:
                parse_constraint(raw)
            except ConstraintError as exc:
                raise ValueError(f"argument {name!r}: {exc}") from None
        return value

    def constraints(self) -> dict[str, Constraint]:
        """The argument constraints, parsed."""
        return {name: parse_constraint(raw) for name, raw in self.args.items()}


class ExpectSpec(_Strict):
    """What a turn should produce. A turn without `expect` is context: it runs, unscored.

    Attributes:
        calls: The tool calls (a set: order does not matter; extra calls count against
            precision).
        no_call: True when the agent must call no tool at all.
        answer_contains: Texts the final answer must contain (ignoring case and spacing).
        answer_not_contains: Texts it must not contain.
    """

    calls: list[ExpectedCall] | None = None
    no_call: bool = False
    answer_contains: list[str] = Field(default_factory=list)
    answer_not_contains: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> ExpectSpec:
        if self.no_call and self.calls:
            raise ValueError("give either calls or no_call = true, not both")
        if self.calls is not None and not self.calls:
            raise ValueError("calls = [] expects nothing: write no_call = true instead")
        if not (self.calls or self.no_call or self.answer_contains or self.answer_not_contains):
            raise ValueError(
                "expect is empty: give calls, no_call = true, answer_contains or "
                "answer_not_contains (or drop expect to leave the turn unscored)"
            )
        return self

    @property
    def scores_calls(self) -> bool:
        """Whether the turn's tool calls are scored (calls or no_call given)."""
        return bool(self.calls) or self.no_call


class _TurnSpec(_Strict):
    """One turn: `audio` (a file or a directory of takes) and/or `text`; `expect` scores it
    (none: a context turn); `tool_choice` for its first request."""

    audio: str | None = None
    text: str | None = Field(default=None, max_length=20_000)
    expect: ExpectSpec | None = None
    tool_choice: str | None = None

    @model_validator(mode="after")
    def _has_input(self) -> _TurnSpec:
        if self.audio is None and not self.text:
            raise ValueError("a turn needs audio (a file or a directory of takes) or text")
        return self


class _CaseSpec(_Strict):
    """A case: `turns` sharing one conversation, or audio/text/expect here for a single turn.
    `tags` (a table or a list) break the scores down; `language` (ISO 639-1) goes to the
    cascade's transcription."""

    id: str = Field(pattern=_ID_PATTERN)
    tags: list[str] | dict[str, str] = Field(default_factory=list)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    turns: list[_TurnSpec] | None = None
    audio: str | None = None
    text: str | None = Field(default=None, max_length=20_000)
    expect: ExpectSpec | None = None
    tool_choice: str | None = None

    @model_validator(mode="after")
    def _turns_or_shorthand(self) -> _CaseSpec:
        shorthand = (self.audio, self.text, self.expect, self.tool_choice)
        if self.turns is not None:
            if any(v is not None for v in shorthand):
                raise ValueError(
                    "give either turns = [...] or audio/text/expect on the case, not both"
                )
            if not self.turns:
                raise ValueError("turns is empty")
        elif self.audio is None and not self.text:
            raise ValueError("a case needs turns, or audio/text (one turn) with expect")
        return self

    def turn_specs(self) -> list[_TurnSpec]:
        if self.turns is not None:
            return self.turns
        return [
            _TurnSpec(
                audio=self.audio, text=self.text, expect=self.expect, tool_choice=self.tool_choice
            )
        ]

    def tag_list(self) -> list[str]:
        if isinstance(self.tags, dict):
            return [f"{k}={v}" for k, v in self.tags.items()]
        return list(self.tags)


class PerturbationSpec(_Strict):
    """Variants of every audio turn, run besides the clean audio.

    Attributes:
        snr_db: Noise added at each of these signal-to-noise ratios (dB, over the speech).
        noise: "white", "brown" (generated, seeded) or the path of a noise recording.
        speed: Speed factors (0.9 slower, 1.1 faster; pitch moves with it, as on tape).
        telephone: Also run each clip through an 8 kHz telephone channel (300-3400 Hz, G.711
            mu-law).
    """

    snr_db: list[float] = Field(default_factory=list, max_length=20)
    noise: str = "white"
    speed: list[float] = Field(default_factory=list, max_length=10)
    telephone: bool = False

    @field_validator("snr_db")
    @classmethod
    def _snr_range(cls, value: list[float]) -> list[float]:
        for snr in value:
            if not -20 <= snr <= 80:
                raise ValueError(f"snr_db {snr} is outside -20..80 dB")
        return value

    @field_validator("speed")
    @classmethod
    def _speed_range(cls, value: list[float]) -> list[float]:
        for speed in value:
            if not 0.5 <= speed <= 2.0 or speed == 1.0:
                raise ValueError(f"speed {speed} must be in 0.5..2.0 and not 1")
        return value


class _Settings(_Strict):
    """The suite's settings: its name, the app (relative to the file), seed, temperature (0:
    repeatable), max_tokens, concurrency (runs at once) and a tool_choice for every turn."""

    name: str = Field(default="suite", max_length=200)
    app: str | None = None
    seed: int = 0
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    concurrency: int = Field(default=4, ge=1, le=64)
    tool_choice: str | None = None


class _SuiteFile(_Strict):
    """A voxagent eval suite (TOML): settings, canned dry-run results by tool ("*": any other),
    perturbations, and the cases. See docs/evals.md."""

    suite: _Settings = Field(default_factory=_Settings)
    dry_results: dict[str, str] = Field(default_factory=dict)
    perturbations: PerturbationSpec = Field(default_factory=PerturbationSpec)
    cases: list[_CaseSpec] = Field(min_length=1, max_length=100_000)


def suite_schema() -> dict[str, Any]:
    """The JSON Schema of a suite file (as parsed from TOML)."""
    return _SuiteFile.model_json_schema()
