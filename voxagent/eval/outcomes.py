"""What one scored (or context) turn of one run produced: the input to scoring and reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voxagent.eval.suite_format import ExpectSpec

__all__ = ["COLUMNS", "ActualCall", "TurnOutcome"]

COLUMNS = ("audio", "cascade")
"""The two ways a turn is run: audio straight to the model, or transcribed first (the baseline)."""


@dataclass(frozen=True)
class ActualCall:
    """A tool call the model made.

    Attributes:
        name: The tool it called.
        arguments: The arguments as the tool would receive them (validated, defaults filled
            in, JSON-ready); when they failed validation, the model's JSON as parsed (or the raw
            text when it was not JSON).
        valid: Whether the arguments passed the tool's validation.
    """

    name: str
    arguments: Any
    valid: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "arguments": self.arguments, "valid": self.valid}


@dataclass(frozen=True)
class TurnOutcome:
    """One turn of one run (a case, one take, one perturbation, one column).

    Attributes:
        run_id: "case", "case/take", "case@variant" or "case/take@variant".
        case_id: The case.
        column: "audio" (native) or "cascade" (transcribed first).
        turn: The turn's position in the case (0-based).
        take: The take's name ("" for a single take).
        variant: The perturbation's label ("clean", "white10dB", "speed0.9", "telephone").
        tags: The case's tags plus `take=...` and `perturb=...`.
        audio: The take's file (None for a text-only turn), so a person can listen.
        text: The turn's typed text.
        expect: What was expected (None: an unscored context turn).
        calls: The tool calls the model made during the turn, in order.
        answer: The final answer text.
        transcript: What the cascade's transcription heard (cascade audio turns only).
        timings: Seconds per stage: endpointing, transcribe (cascade), first_token, tool_start,
            total.
        usage: prompt_tokens, completion_tokens, total_tokens.
        notes: Error events of the turn (AnswerTruncated, EmptyAnswer, ...).
        error: Why the turn could not be run (then it scores as wrong), else None.
    """

    run_id: str
    case_id: str
    column: str
    turn: int
    take: str
    variant: str
    tags: tuple[str, ...]
    audio: str | None
    text: str | None
    expect: ExpectSpec | None
    calls: tuple[ActualCall, ...] = ()
    answer: str = ""
    transcript: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the report's `turns`)."""
        return {
            "run_id": self.run_id,
            "case_id": self.case_id,
            "column": self.column,
            "turn": self.turn + 1,
            "take": self.take,
            "variant": self.variant,
            "tags": list(self.tags),
            "audio": self.audio,
            "text": self.text,
            "expect": self.expect.model_dump(exclude_defaults=True) if self.expect else None,
            "calls": [c.to_dict() for c in self.calls],
            "answer": self.answer,
            "transcript": self.transcript,
            "timings": dict(self.timings),
            "usage": dict(self.usage),
            "notes": list(self.notes),
            "error": self.error,
        }
