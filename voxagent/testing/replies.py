"""What the scripted server answers: `Reply` (text, tool calls, errors, faults)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Fault", "Reply", "ScriptItem", "ScriptedCall"]

Fault = Literal[
    "drop",  # close the connection: before headers when fault_after is None, else after N chunks
    "stall",  # stop sending (never finish): before headers when fault_after is None
    "end_early",  # end the response cleanly after N chunks: no finish_reason, no [DONE]
    "no_done",  # a complete stream that never sends `data: [DONE]`
    "malformed_sse",  # after N chunks, a line that is not a server-sent event field
    "bad_chunk_json",  # after N chunks, a `data:` line that is not JSON
    "non_json",  # 200 with an HTML page instead of JSON / SSE
    "huge_body",  # 200 with a body (or one SSE line) of `huge_bytes` bytes
]


@dataclass(frozen=True)
class ScriptedCall:
    """One tool call the scripted model makes.

    Attributes:
        name: The function name.
        arguments: A dict (sent as JSON) or raw text (sent as is, so it may be malformed).
        id: The call id; None lets the server make a valid 9-character one, like vLLM. Give a
            bad shape ("call_1") to test id repair.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted answer to one request.

    Build it with the class methods (`Reply.text`, `Reply.tool_call`, `Reply.error`, ...); every
    field can also be given to them as a keyword option, and `reply.with_(...)` copies a reply
    with changes.

    Attributes:
        content: The assistant text (chunked into deltas of `chunk_size` characters when streamed);
            for a transcription request, the transcript.
        calls: The tool calls (their arguments are streamed in `chunk_size` fragments).
        finish_reason: Defaults to "tool_calls" when there are calls, else "stop".
        usage: Token usage to report; None reports the prompt's real token count.
        delay: Seconds to wait before sending headers (simulated model latency).
        chunk_delay: Seconds to wait between streamed chunks.
        chunk_size: Characters per streamed text or argument fragment.
        status: The HTTP status; not 200 means an error answer.
        body: An error answer's body: a dict (sent as JSON) or text/bytes (sent as is); None gives
            vLLM's error shape with `message`.
        message: The error message for the default error body.
        headers: Extra response headers (for example {"Retry-After": "2"}).
        fault: A transport fault to inject (see `Fault`).
        fault_after: Chunks sent before the fault strikes (None: before the headers).
        huge_bytes: The size of a `huge_body` fault.
    """

    content: str | None = None
    calls: tuple[ScriptedCall, ...] = ()
    finish_reason: str | None = None
    usage: Mapping[str, int] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    chunk_size: int = 8
    status: int = 200
    body: Mapping[str, Any] | str | bytes | None = None
    message: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    fault: Fault | None = None
    fault_after: int | None = None
    huge_bytes: int = 24 * 1024 * 1024

    @classmethod
    def text(cls, text: str, **options: Any) -> Reply:
        """An assistant message (or a transcript) with `text`."""
        return cls(content=text, **options)

    @classmethod
    def tool_call(
        cls,
        name: str,
        arguments: Mapping[str, Any] | str | None = None,
        *,
        id: str | None = None,
        **options: Any,
    ) -> Reply:
        """One tool call; `arguments` a dict or raw (possibly malformed) JSON text."""
        return cls(
            calls=(ScriptedCall(name, {} if arguments is None else arguments, id),), **options
        )

    @classmethod
    def tool_calls(
        cls, *calls: ScriptedCall | tuple[str, Mapping[str, Any] | str], **options: Any
    ) -> Reply:
        """Several tool calls in one message; each a `ScriptedCall` or a (name, arguments) pair."""
        made = tuple(c if isinstance(c, ScriptedCall) else ScriptedCall(c[0], c[1]) for c in calls)
        return cls(calls=made, **options)

    @classmethod
    def error(
        cls,
        status: int,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | str | bytes | None = None,
        **options: Any,
    ) -> Reply:
        """An HTTP error answer, by default with vLLM's `{"error": {...}}` body."""
        return cls(
            status=status, message=message, headers=dict(headers or {}), body=body, **options
        )

    @classmethod
    def drop(cls, after_chunks: int | None = None, **options: Any) -> Reply:
        """Close the connection before the headers, or mid-answer after `after_chunks` chunks."""
        options.setdefault("content", "This answer is cut short by a dropped connection.")
        return cls(fault="drop", fault_after=after_chunks, **options)

    @classmethod
    def hang(cls, after_chunks: int | None = None, **options: Any) -> Reply:
        """Never answer (or stall after `after_chunks` chunks) until the client gives up."""
        options.setdefault("content", "This answer never finishes.")
        return cls(fault="stall", fault_after=after_chunks, **options)

    @classmethod
    def non_json(cls, **options: Any) -> Reply:
        """Answer 200 with an HTML page, as a misconfigured proxy would."""
        return cls(fault="non_json", **options)

    @classmethod
    def huge(cls, size: int = 24 * 1024 * 1024, **options: Any) -> Reply:
        """Answer 200 with a body of `size` bytes."""
        return cls(fault="huge_body", huge_bytes=size, **options)

    def with_(self, **changes: Any) -> Reply:
        """Return a copy with `changes` applied (for example `.with_(delay=0.5)`)."""
        return dataclasses.replace(self, **changes)

    def effective_finish_reason(self) -> str:
        """The finish_reason this reply reports."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.calls else "stop"


ScriptItem = Reply | Callable[[dict[str, Any]], "Reply | Awaitable[Reply]"]
"""A script entry: a fixed `Reply`, or a function of the request body that returns one.

The function receives a `voxagent.testing.ScriptedRequest`: the body as a dict, with `.kind`
("chat" or "transcription"). If it raises, the server answers HTTP 500 and records the exception.
"""
