"""What a finished user turn returns: the answer, the tool calls, timings and usage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voxagent.client.types import Usage

if TYPE_CHECKING:
    from voxagent.tools import ToolResult

__all__ = ["ToolCallRecord", "TurnResult"]


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    """One tool call made during a turn, with what it returned.

    Attributes:
        call_id: The id recorded in the conversation.
        name: The tool the model asked for.
        arguments: The arguments as the model sent them (raw JSON text).
        result: What the tool returned, as sent back to the model.
    """

    call_id: str
    name: str
    arguments: str
    result: ToolResult


@dataclass(frozen=True, slots=True)
class TurnResult:
    """The outcome of one user turn (`Agent.ask`, or each turn of `Agent.listen`).

    Attributes:
        turn_id: The turn's id, unique within the agent.
        text: The assistant's final answer ("" when it gave none).
        tool_calls: Every tool call made during the turn, in order.
        transcript: The user's words, when a transcript is available.
        timings: Seconds per stage: `prepare` (audio encoding), `model` (all model requests),
            `first_token` (request start to first streamed token of the first round), `tools`
            (wall time of tool runs), `total`; `endpointing` when the turn came from `listen`.
        usage: Tokens used over the turn's model requests.
        rounds: How many model requests the turn needed.
    """

    turn_id: int
    text: str
    tool_calls: tuple[ToolCallRecord, ...] = ()
    transcript: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    rounds: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (used by the CLI and in logs)."""
        return {
            "turn_id": self.turn_id,
            "text": self.text,
            "transcript": self.transcript,
            "tool_calls": [
                {
                    "call_id": r.call_id,
                    "name": r.name,
                    "arguments": r.arguments,
                    "result": r.result.content,
                    "is_error": r.result.is_error,
                }
                for r in self.tool_calls
            ],
            "timings": dict(self.timings),
            "usage": {
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
                "total_tokens": self.usage.total_tokens,
            },
            "rounds": self.rounds,
        }
