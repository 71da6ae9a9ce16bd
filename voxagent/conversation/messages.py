"""What each turn looks like in a request: the texts it carries and its OpenAI-shaped messages.

Everything here is a pure function of frozen turns, so `voxagent.conversation.cache` computes
each piece once per turn. Texts are made safe for the server's validator and parser: tool names
outside `[a-zA-Z0-9_-]`, JSON nested too deep for the server, and empty or missing tool results
are replaced by what the server accepts.
"""

from __future__ import annotations

import re
from typing import Any

from voxagent.client.dialects import Dialect
from voxagent.client.types import ToolCall
from voxagent.conversation.turns import ToolResultTurn, UserTurn
from voxagent.jsonsafe import MAX_JSON_BYTES, MAX_JSON_DEPTH, JSONLimitError, loads_bounded

__all__ = [
    "EMPTY_RESULT_TEXT",
    "MISSING_RESULT_TEXT",
    "UNTRANSCRIBED_TEXT",
    "VOICE_PREFIX",
    "WireCall",
    "assistant_message",
    "parsed",
    "result_text",
    "tool_message",
    "user_message",
    "user_text",
    "wire_call",
]

VOICE_PREFIX = "[voice message]"
"""Starts the text that replaces a compacted audio turn: `[voice message] <transcript>`."""

UNTRANSCRIBED_TEXT = "[earlier voice message, not transcribed]"
"""Replaces a compacted audio turn whose transcript is unknown."""

MISSING_RESULT_TEXT = "Error: no result; the call was interrupted before it finished."
"""Sent for a tool call that never got a result (cancelled, superseded by a later turn)."""

EMPTY_RESULT_TEXT = "(empty result)"
"""Sent for a tool result whose content is empty."""

_TOO_DEEP_RESULT_TEXT = (
    f"Error: the tool's result was not sent: it nests deeper than {MAX_JSON_DEPTH} levels."
)
_BAD_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")

WireCall = tuple[str, str, str]
"""One recorded call as it is sent: `(id, name, arguments)`, name and arguments made safe."""


def user_text(turn: UserTurn, as_audio: bool) -> str | None:
    """The text of `turn`'s message: its typed text, after its transcript when compacted."""
    pieces: list[str] = []
    if turn.audio is not None and not as_audio:
        transcript = (turn.transcript or "").strip()
        pieces.append(f"{VOICE_PREFIX} {transcript}" if transcript else UNTRANSCRIBED_TEXT)
    if turn.text:
        pieces.append(turn.text)
    return "\n".join(pieces) if pieces else None


def user_message(
    turn: UserTurn, text: str | None, as_audio: bool, instructions: str | None, dialect: Dialect
) -> dict[str, Any]:
    """`turn` as a user message with `text` (its `user_text`); `instructions` open it when they
    cannot be a system message."""
    parts: list[dict[str, Any]] = []
    if instructions:
        parts.append({"type": "text", "text": instructions})
    if as_audio and turn.audio is not None:
        parts.append(dialect.audio_part(turn.audio))
    if text:
        parts.append({"type": "text", "text": text})
    if len(parts) == 1 and parts[0]["type"] == "text":
        return {"role": "user", "content": parts[0]["text"]}
    return {"role": "user", "content": parts}


def _safe_name(name: str) -> str:
    # The validator rejects names outside [a-zA-Z0-9_-]{1,64}; a model can hallucinate any.
    return _BAD_NAME_CHARS.sub("_", name)[:64] or "unknown_tool"


def parsed(text: str) -> Any:
    """`text` as mistral_common re-serialises arguments and results before tokenising.

    A text nested too deep for the bounded parser counts as text (a tool result) or is never sent
    at all (arguments: see `wire_call`), so a hostile nesting cannot recurse here.
    """
    try:
        return loads_bounded(text)
    except ValueError:
        return text


def _could_nest_too_deep(text: str) -> bool:
    # Nesting deeper than the limit needs more opening brackets than the limit; counting them is
    # a fast scan, so the common text (a few brackets) is never parsed just to check its depth.
    return text.count("[") + text.count("{") > MAX_JSON_DEPTH


def _sendable_arguments(arguments: str) -> str:
    """The arguments text to send for a recorded call.

    Malformed JSON is sent as it is: the server re-parses arguments and keeps what does not parse
    as a plain string, and the model then sees what it really sent. JSON nested deeper (or larger)
    than the bounded parser accepts is the exception: the server's own parser would recurse on it
    and fail every later request, so it is sent as `{}` (its tool already answered that the
    arguments were invalid).
    """
    if not arguments:
        return "{}"
    if len(arguments) > MAX_JSON_BYTES or _could_nest_too_deep(arguments):
        try:
            loads_bounded(arguments)
        except JSONLimitError:
            return "{}"
        except ValueError:
            pass
    return arguments


def wire_call(call: ToolCall) -> WireCall:
    """`call` as it is sent: its id, a name the validator accepts, arguments the server parses."""
    return call.id, _safe_name(call.name), _sendable_arguments(call.arguments)


def _sendable_result(content: str) -> str:
    # The server parses a tool result as JSON when it can; text that opens with thousands of
    # brackets makes that parser recurse and fail, whether or not the text is valid JSON. Only
    # the depth matters here (a large result is fine), so the size limit is the text's own.
    if _could_nest_too_deep(content):
        try:
            loads_bounded(content, max_bytes=len(content))
        except JSONLimitError:
            return _TOO_DEEP_RESULT_TEXT
        except ValueError:
            pass
    return content


def result_text(result: ToolResultTurn | None) -> str:
    """The content sent for a call's result (`None`: the call never got one)."""
    if result is None:
        return MISSING_RESULT_TEXT
    content = _sendable_result(result.content) if result.content.strip() else EMPTY_RESULT_TEXT
    if result.is_error and not content.lower().startswith("error"):
        return f"Error: {content}"
    return content


def assistant_message(text: str | None, calls: tuple[WireCall, ...]) -> dict[str, Any]:
    """An assistant message with `text` and/or `calls` (Voxtral rejects one with neither)."""
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            for call_id, name, arguments in calls
        ]
    return message


def tool_message(call: WireCall, content: str) -> dict[str, Any]:
    """The tool message that answers `call` with `content` (from `result_text`)."""
    return {"role": "tool", "tool_call_id": call[0], "name": call[1], "content": content}
