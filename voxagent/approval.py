"""Approval of `confirm=True` tools: who says yes before a tool with side effects runs.

An approval policy is an async callable `(ApprovalRequest) -> bool`. Ready-made ones:
`always_approve`, `never_approve`, and `ask_on_terminal` for scripts run by a person. While
`Agent.listen` runs, the default policy asks the user by voice and lets the model classify the
spoken answer (see `voxagent.agent`).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TextIO, TypeAlias

import anyio
import anyio.from_thread
import anyio.lowlevel

from voxagent.text import printable

__all__ = [
    "Approval",
    "ApprovalPolicy",
    "ApprovalRequest",
    "Denied",
    "TerminalApproval",
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


@dataclass(frozen=True, slots=True)
class Denied:
    """A denial that says why; false in a boolean context, so it reads as `False`.

    An approval callable may return it instead of `False`: the reason goes into the tool result
    the model sees and into the `tool_call_finished` event ("... needs the user's approval and
    there is no terminal on stdin to ask").

    Attributes:
        reason: Why the call was not approved, as the end of a sentence ("the user said no").
    """

    reason: str

    def __bool__(self) -> bool:
        return False


Approval: TypeAlias = Callable[[ApprovalRequest], Awaitable[bool | Denied]]
ApprovalPolicy: TypeAlias = Literal["always", "never", "ask"] | Approval


def format_question(tool_name: str, arguments: dict[str, Any]) -> str:
    """Return the question put to the user, e.g. "Run set_alarm(time=07:00)? Say yes or no."."""
    parts = []
    for key, value in arguments.items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        parts.append(f"{key}={shown}")
    # The values are the model's choice: a control character or an escape sequence must not
    # redraw what a person reads (or a speaker says) as the question.
    return printable(f"Run {tool_name}({', '.join(parts)})? Say yes or no.")


def denial_message(tool_name: str, reason: str | bool | Denied = "the user said no") -> str:
    """Return the tool result the model sees when a call is not approved.

    Args:
        tool_name: The tool.
        reason: Why (a `Denied` says it; a plain `False` means the user said no).
    """
    if isinstance(reason, Denied):
        reason = reason.reason
    elif not isinstance(reason, str):
        reason = "the user said no"
    return (
        f"Not run: {tool_name} needs the user's approval and {reason}. "
        "Tell the user it was not done; do not retry unless they ask again."
    )


async def always_approve(request: ApprovalRequest) -> bool:
    """Approve every call (for trusted scripts and tests)."""
    return True


NO_TERMINAL = Denied(
    "there is no terminal on stdin to ask (--approve prompt needs one; a script chooses "
    "--approve always or never)"
)
NOBODY_TO_ASK = Denied("nobody can answer outside listen() (approval='ask' asks by voice)")


async def never_approve(request: ApprovalRequest) -> Denied:
    """Deny every call; the model is told the policy denies it."""
    return Denied("the approval policy denies every call")


async def _nobody_to_ask(request: ApprovalRequest) -> Denied:
    return NOBODY_TO_ASK


class TerminalApproval:
    """Ask on this terminal (question on stderr, answer on stdin); `voxagent run --approve prompt`.

    One question at a time (parallel tool calls would otherwise print their questions on one
    line and race for the same answer), with the tool's name and arguments escaped by
    `printable`, since the model chose them. stdin is read on a daemon thread, so the event loop
    keeps running while the person thinks. Anything but y/yes denies; with no terminal on stdin
    (a pipeline, CI) every call is denied rather than waiting forever.

    Args:
        stdin: Where answers come from; `sys.stdin` at call time when None.
    """

    def __init__(self, stdin: TextIO | None = None) -> None:
        self._stdin = stdin
        self._lock = anyio.Lock()
        self._lines = _LineReader()

    async def __call__(self, request: ApprovalRequest) -> bool | Denied:
        """Ask about one call; True only for a "y" or "yes" answer."""
        stdin = self._stdin if self._stdin is not None else sys.stdin
        shown = _call_text(request.tool_name, request.arguments)
        if stdin is None or not stdin.isatty():
            # One line here for the person; the same reason goes to the model and the events.
            _say(f"  denied {shown}: {NO_TERMINAL.reason}")
            return NO_TERMINAL
        async with self._lock:
            _say(f"  approve {shown}? [y/N] ", end="")
            answer = await self._lines.readline(stdin)
        return answer.strip().lower() in {"y", "yes"}


def _call_text(name: str, arguments: dict[str, Any]) -> str:
    # Quoted JSON values, unlike the spoken question: a string argument cannot pose as more
    # arguments or as the end of the call. _say applies printable to the whole line.
    shown = ", ".join(
        f"{key}={json.dumps(value, ensure_ascii=False, default=str)}"
        for key, value in arguments.items()
    )
    return f"{name}({shown})"


class _LineReader:
    """Reads stdin lines on a daemon thread, one read in flight at a time.

    A question cancelled while waiting (barge-in, a timeout) leaves its read running; the next
    question waits for that same read instead of starting a second reader on the same stdin.
    A line that arrives while no question waits is dropped: it answered nothing on the screen.
    """

    def __init__(self) -> None:
        self._done: anyio.Event | None = None  # set when the read in flight returns
        self._line: str | None = None  # a line that came in with nobody waiting
        self._waiting = False

    async def readline(self, stream: TextIO) -> str:
        """The next line typed while this call waits; "" at end of input."""
        if self._done is None:
            self._done = anyio.Event()
            token = anyio.lowlevel.current_token()
            reader = threading.Thread(
                target=self._read, args=(stream, self._done, token), daemon=True
            )
            reader.start()
        done = self._done
        self._waiting = True
        try:
            await done.wait()
        finally:
            self._waiting = False
        line = self._line or ""
        self._line = None
        return line

    def _read(self, stream: TextIO, done: anyio.Event, token: Any) -> None:
        try:
            line = stream.readline()
        except (OSError, ValueError):  # stdin closed under us: end of input
            line = ""
        try:
            anyio.from_thread.run_sync(self._deliver, line, done, token=token)
        except RuntimeError:  # the event loop is gone: nobody is asking any more
            pass

    def _deliver(self, line: str, done: anyio.Event) -> None:
        self._done = None
        # Typed while no question was shown: keep nothing, the next question reads afresh.
        self._line = line if self._waiting else None
        done.set()


def _say(message: str, end: str = "\n") -> None:
    try:
        print(printable(message), end=end, file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):  # stderr closed: nobody is left to ask
        pass


_TERMINAL = TerminalApproval()


async def ask_on_terminal(request: ApprovalRequest) -> bool | Denied:
    """Ask on the terminal, one question at a time, with what the model chose escaped.

    The shared `TerminalApproval` of this process; anything but y/yes denies, and with no
    interactive stdin (a pipeline, CI) every call is denied rather than blocking.
    """
    return await _TERMINAL(request)


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
        return voice if voice is not None else _nobody_to_ask
    return policy
