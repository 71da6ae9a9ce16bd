"""`ToolResult`, and turning a tool's return value into the text the model reads."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from voxagent.text import clean_text

__all__ = [
    "DEFAULT_MAX_RESULT_CHARS",
    "ERROR_KINDS",
    "ToolResult",
    "UnserialisableResultError",
    "serialise_result",
    "truncate",
]

DEFAULT_MAX_RESULT_CHARS = 16_000
"""The cap on a result's text when neither the tool nor the registry sets one."""

ERROR_KINDS = frozenset(
    {
        "invalid_json",
        "invalid_arguments",
        "unknown_tool",
        "raised",
        "tool_error",
        "timeout",
        "unserialisable",
        "denied",
        "cancelled",
        "truncated",
        "round_limit",
    }
)
"""Every `ToolResult.error_kind` voxagent produces."""


@functools.cache
def _any_adapter() -> TypeAdapter[Any]:
    # Built on first use: it costs a few milliseconds at import time otherwise.
    return TypeAdapter(Any)


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call, ready to be sent back to the model.

    Attributes:
        content: The text the model reads: the return value serialised (a str as is, anything
            else as compact JSON) or the error message, capped with a visible truncation marker.
            Always passed through `voxagent.text.clean_text`, so it encodes as UTF-8 whatever
            the tool returned or raised (for example a file name from `os.fsdecode`).
        is_error: True when the call failed; `content` then explains why, for the model.
        value: The tool's raw return value on success, for the application (not sent anywhere).
        error_kind: Why it failed: "invalid_json", "invalid_arguments", "unknown_tool", "raised"
            (an exception), "tool_error" (a `ToolError`), "timeout", "unserialisable", "denied"
            (the user refused a `confirm=True` tool), "cancelled", "truncated" (the answer was
            cut off inside the call) or "round_limit" (the turn's tool rounds were used up); None
            on success.
        duration_s: How long validation and the call took, in seconds.
    """

    content: str
    is_error: bool = False
    value: Any = None
    error_kind: str | None = None
    duration_s: float = 0.0

    def __post_init__(self) -> None:
        # Every result, success or failure, reaches the conversation through here: cleaning it
        # once covers tool return values, exception messages and denial texts alike.
        cleaned = clean_text(self.content)
        if cleaned is not self.content:
            object.__setattr__(self, "content", cleaned)  # frozen: set once, before anyone sees it

    @classmethod
    def failure(cls, content: str, kind: str, *, duration_s: float = 0.0) -> ToolResult:
        """Build an error result (for example a "denied" one from the agent's confirmation step).

        Args:
            content: The message for the model.
            kind: One of `ERROR_KINDS`.
            duration_s: Time spent, if any.

        Returns:
            A result with `is_error=True`.
        """
        return cls(content=content, is_error=True, error_kind=kind, duration_s=duration_s)


class UnserialisableResultError(TypeError):
    """A tool returned something that cannot be turned into text for the model."""


def serialise_result(value: Any) -> str:
    """Turn a tool's return value into the text sent to the model.

    A str is sent as is. Pydantic models, dataclasses, TypedDicts, dicts, lists, tuples, sets,
    numbers, bools, None, enums, datetimes, UUIDs and paths become compact JSON (non-ASCII kept).
    Text that UTF-8 cannot encode (lone surrogates, for example from `os.fsdecode`) is repaired
    with `voxagent.text.clean_text` rather than refused.

    Args:
        value: What the tool returned.

    Returns:
        The text.

    Raises:
        UnserialisableResultError: For bytes (the model reads text; decode or describe them) and
            for values pydantic cannot serialise (arbitrary objects, circular references).
    """
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raise UnserialisableResultError(
            f"the tool returned {type(value).__name__}, which cannot be sent to the model"
            " (return str or JSON-serialisable data)"
        )
    try:
        # warnings=False: a model holding values of the wrong type still serialises; the
        # warning would only reach a log nobody reads.
        return _any_adapter().dump_json(value, warnings=False).decode("utf-8")
    # pydantic's PydanticSerializationError is a ValueError.
    except (ValueError, TypeError, RecursionError) as exc:
        if "surrogates not allowed" in str(exc):
            # dump_json encodes to UTF-8 and refuses lone surrogates (a path from os.fsdecode
            # inside a dict); the same data as JSON-ready Python, dumped by json, keeps them as
            # characters that clean_text then repairs.
            try:
                return _dump_repaired(value)
            except (ValueError, TypeError, RecursionError):
                pass  # refused for another reason too: report the original one
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnserialisableResultError(
            f"the tool returned a {type(value).__name__} that cannot be serialised to JSON"
            f" ({reason})"
        ) from exc


def _dump_repaired(value: Any) -> str:
    plain = _any_adapter().dump_python(value, mode="json", warnings=False)
    # The separators match pydantic's compact output, so repaired results look like the others.
    return clean_text(json.dumps(plain, ensure_ascii=False, separators=(",", ":")))


def truncate(text: str, limit: int | None) -> str:
    """Cap `text` at `limit` characters, marking what was cut.

    The marker (`... [truncated N characters]`) counts towards the limit, so the result is never
    longer than `limit` unless the limit is shorter than the marker itself.

    Args:
        text: The text to cap.
        limit: The maximum length; None for no cap.

    Returns:
        `text` unchanged when it fits, else its beginning plus the marker.
    """
    if limit is None or len(text) <= limit:
        return text
    # The marker's digit count can only shrink as `keep` grows, so sizing it for the worst case
    # (everything removed) keeps the total within the limit.
    worst = f"\n... [truncated {len(text)} characters]"
    keep = max(limit - len(worst), 0)
    return f"{text[:keep]}\n... [truncated {len(text) - keep} characters]"
