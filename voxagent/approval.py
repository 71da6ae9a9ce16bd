"""Approval of `confirm=True` tools: who says yes before a tool with side effects runs.

An approval policy is an async callable `(ApprovalRequest) -> bool`. Ready-made ones:
`always_approve`, `never_approve`, and `ask_on_terminal` for scripts run by a person. While
`Agent.listen` runs, the default policy asks the user by voice and lets the model classify the
spoken answer (see `voxagent.agent`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import anyio

__all__ = [
    "Approval",
    "ApprovalPolicy",
    "ApprovalRequest",
    "always_approve",
    "ask_on_terminal",
    "denial_message",
    "format_question",
    "never_approve",
    "resolve_policy",
]


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A tool call waiting for approval.

    Attributes:
        call_id: The call's id.
        tool_name: The tool's registered name (never the name the model might have invented).
        arguments: The validated arguments, as JSON-ready values.
        question: The question to put to the user.
    """

    call_id: str
    tool_name: str
    arguments: dict[str, Any]
    question: str


Approval: TypeAlias = Callable[[ApprovalRequest], Awaitable[bool]]
ApprovalPolicy: TypeAlias = Literal["always", "never", "ask"] | Approval


def format_question(tool_name: str, arguments: dict[str, Any]) -> str:
    """Return the question put to the user, e.g. "Run set_alarm(time=07:00)? Say yes or no."."""
    parts = []
    for key, value in arguments.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        parts.append(f"{key}={shown}")
    return f"Run {tool_name}({', '.join(parts)})? Say yes or no."


def denial_message(tool_name: str, reason: str = "the user said no") -> str:
    """Return the tool result the model sees when a call is not approved."""
    return (
        f"Not run: {tool_name} needs the user's approval and {reason}. "
        "Tell the user it was not done; do not retry unless they ask again."
    )


async def always_approve(request: ApprovalRequest) -> bool:
    """Approve every call (for trusted scripts and tests)."""
    return True


async def never_approve(request: ApprovalRequest) -> bool:
    """Deny every call; the model is told the user did not approve."""
    return False


async def ask_on_terminal(request: ApprovalRequest) -> bool:
    """Ask on the terminal (stderr prompt, stdin answer); anything but yes/y denies.

    With no interactive stdin (a pipeline, CI) the call is denied rather than blocking.
    """
    if not sys.stdin or not sys.stdin.isatty():
        return False

    def prompt() -> str:
        print(request.question + " [y/N] ", end="", file=sys.stderr, flush=True)
        return sys.stdin.readline()

    answer = await anyio.to_thread.run_sync(prompt, abandon_on_cancel=True)
    return answer.strip().lower() in {"y", "yes"}


def resolve_policy(policy: ApprovalPolicy, *, voice: Approval | None) -> Approval:
    """Turn a policy name into a callable.

    Args:
        policy: "always", "never", "ask" or a callable.
        voice: The spoken-approval callable while listening, or None outside `listen`.
            "ask" uses it when given, else denies (nobody is there to answer).
    """
    if policy == "always":
        return always_approve
    if policy == "never":
        return never_approve
    if policy == "ask":
        return voice if voice is not None else never_approve
    return policy
