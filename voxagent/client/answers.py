"""Reading answers from the server: JSON decoding, shape checks, and whole chat completions.

Everything here treats the server's output as data: a wrong shape (`message: null`, a number
where a string goes, a `tool_calls` that is not a list) is a `ProtocolError` naming the field,
never an `AttributeError` from deep inside. The checks are plain `isinstance` tests rather than
pydantic models: they run once per streamed chunk, on the hot path of every turn.
"""

from __future__ import annotations

import json
from typing import Any

from voxagent.client.errors import server_message
from voxagent.client.types import ChatResponse, ModelInfo, ToolCall, Usage
from voxagent.errors import ProtocolError, ServerError
from voxagent.jsonsafe import loads_bounded

__all__ = [
    "MAX_ANSWER_CHARS",
    "answer_too_long",
    "content_text",
    "decode_json",
    "describe",
    "malformed",
    "optional_str",
    "parse_chat",
    "parse_usage",
    "raise_for_error",
]

MAX_ANSWER_CHARS = 1024 * 1024
"""Default cap on the assistant text, and on each tool call's arguments, in characters.

Voxtral's context is 32k tokens (about 128k characters of output at most), so a million
characters is far past anything a real answer holds, and small enough to stop a runaway stream
in well under a second.
"""

# Token counts beyond 2**53 are not counts (and lose precision in every JSON consumer after us).
_MAX_COUNT = 2**53
_HINT = "the server is not a compatible OpenAI-style API, or it misbehaves; its log may say why"


def describe(value: Any) -> str:
    """Name the JSON type of `value` for an error message ("null", "a number", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def malformed(source: str, path: str, value: Any, expected: str) -> ProtocolError:
    """Build the error for a field of the wrong shape.

    Args:
        source: Who sent it (the request URL, or "the server").
        path: Where the field is, for example "choices[0].message.content".
        value: What was there.
        expected: What should have been there, for example "a string or null".
    """
    return ProtocolError(
        f"{source} sent a malformed answer: {path} is {describe(value)}, expected {expected}",
        hint=_HINT,
    )


def answer_too_long(source: str, what: str, limit: int) -> ProtocolError:
    """Build the error for an answer (text or a call's arguments) over the size cap."""
    return ProtocolError(
        f"{source} sent {what} longer than {limit} characters; the answer was abandoned",
        hint="the model kept generating: set max_tokens, or raise max_answer_chars if such "
        "long answers are expected",
    )


def optional_str(obj: dict[str, Any], key: str, source: str, path: str) -> str | None:
    """Return `obj[key]` when it is a string, None when absent or null, else raise."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise malformed(source, f"{path}.{key}" if path else key, value, "a string or null")


def decode_json(raw: bytes | str, url: str) -> Any:
    """Parse a JSON answer (bounded depth and size); a non-JSON one is a `ProtocolError`."""
    try:
        return loads_bounded(raw)
    except ValueError as exc:
        preview = raw[:120]
        if isinstance(preview, bytes):
            preview = preview.decode("utf-8", errors="replace")
        raise ProtocolError(
            f"{url} sent something that is not JSON ({exc}): {preview!r}",
            hint="is the base URL an OpenAI-compatible API (vLLM or Mistral's)?",
        ) from None


def raise_for_error(data: dict[str, Any], source: str, *, mid_stream: bool = False) -> None:
    """Raise `ServerError` with the server's own words when a 200 answer is an error object.

    vLLM reports some failures (an engine error mid-stream, a request it gave up on) as
    `{"error": {...}}` with status 200; older servers say `{"object": "error", "message": ...}`.
    """
    error = data.get("error")
    if error in (None, False, "", {}, []) and data.get("object") != "error":
        return
    said = server_message(json.dumps(data).encode()) or "unknown error"
    where = "mid-stream" if mid_stream else "instead of an answer"
    raise ServerError(
        f"{source} reported an error {where}: {said}",
        hint="the model server failed while generating; its log says why",
        server_message=said,
    )


def parse_usage(data: Any, source: str = "the server") -> Usage | None:
    """Read an OpenAI-style usage object; None when absent.

    Raises:
        ProtocolError: usage is not an object, or a count is not a plausible integer.
    """
    if data is None:
        return None
    if not isinstance(data, dict):
        raise malformed(source, "usage", data, "an object or null")
    counts: list[int] = []
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        value = data.get(key)
        if value is None:
            value = 0
        elif type(value) is not int or not 0 <= value <= _MAX_COUNT:
            raise malformed(source, f"usage.{key}", value, "a token count")
        counts.append(value)
    prompt, completion, total = counts
    return Usage(prompt, completion, total, _cached_tokens(data, source))


def _cached_tokens(data: dict[str, Any], source: str) -> int:
    """`prompt_tokens_details.cached_tokens`, 0 when the server does not report it."""
    details = data.get("prompt_tokens_details")
    if details is None:
        return 0
    if not isinstance(details, dict):
        raise malformed(source, "usage.prompt_tokens_details", details, "an object or null")
    value = details.get("cached_tokens")
    if value is None:
        return 0
    if type(value) is not int or not 0 <= value <= _MAX_COUNT:
        raise malformed(source, "usage.prompt_tokens_details.cached_tokens", value, "a token count")
    return value


def content_text(value: Any, source: str, path: str) -> str | None:
    """Read message content: a string, null, or Mistral's list of chunks (text ones kept)."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise malformed(source, path, value, "a string, a list of parts or null")
    texts: list[str] = []
    for number, part in enumerate(value):
        if not isinstance(part, dict):
            raise malformed(source, f"{path}[{number}]", part, "an object")
        kind = part.get("type", "text")
        if kind != "text":
            continue  # thinking, references, ...: not part of the spoken answer
        text = part.get("text")
        if not isinstance(text, str):
            raise malformed(source, f"{path}[{number}].text", text, "a string")
        texts.append(text)
    return "".join(texts) or None


def parse_chat(data: Any, url: str, *, max_chars: int = MAX_ANSWER_CHARS) -> ChatResponse:
    """Read a non-streamed `chat.completion` into a `ChatResponse`.

    Args:
        data: The decoded JSON body.
        url: The request URL, for messages.
        max_chars: The cap on the text, and on each call's arguments, in characters.

    Raises:
        ServerError: the body is an error object (status 200 notwithstanding).
        ProtocolError: the body is not a chat completion, or a field has the wrong shape.
    """
    if not isinstance(data, dict):
        raise malformed(url, "the answer", data, "a chat completion object")
    raise_for_error(data, url)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ProtocolError(
            f"{url} returned a chat answer without choices[0].message "
            f"(choices is {describe(choices)})",
            hint=_HINT,
        )
    choice = choices[0]
    if not isinstance(choice, dict):
        raise malformed(url, "choices[0]", choice, "an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise malformed(url, "choices[0].message", message, "an object")
    text = content_text(message.get("content"), url, "choices[0].message.content")
    if text is not None and len(text) > max_chars:
        raise answer_too_long(url, "a text answer", max_chars)
    raw_calls = message.get("tool_calls")
    if raw_calls is not None and not isinstance(raw_calls, list):
        raise malformed(url, "choices[0].message.tool_calls", raw_calls, "a list or null")
    calls = tuple(
        _whole_call(raw, f"choices[0].message.tool_calls[{number}]", url, max_chars)
        for number, raw in enumerate(raw_calls or ())
    )
    return ChatResponse(
        text=text or None,
        tool_calls=calls,
        finish_reason=optional_str(choice, "finish_reason", url, "choices[0]"),
        usage=parse_usage(data.get("usage"), url),
        model=optional_str(data, "model", url, "") or "",
    )


def _whole_call(raw: Any, path: str, url: str, max_chars: int) -> ToolCall:
    if not isinstance(raw, dict):
        raise malformed(url, path, raw, "an object")
    function = raw.get("function")
    if not isinstance(function, dict):
        raise malformed(url, f"{path}.function", function, "an object")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise ProtocolError(
            f"{url} returned a tool call without a function name "
            f"({path}.function.name is {describe(name)})",
            hint=_HINT,
        )
    if len(name) > max_chars:
        raise answer_too_long(url, "a tool call name", max_chars)
    arguments = function.get("arguments")
    if arguments is None:
        arguments = ""
    elif isinstance(arguments, dict):
        # Mistral's API may send the arguments as an object; the rest of voxagent wants text.
        arguments = json.dumps(arguments)
    elif not isinstance(arguments, str):
        raise malformed(url, f"{path}.function.arguments", arguments, "a string or an object")
    if len(arguments) > max_chars:
        raise answer_too_long(url, f"arguments for tool call {name[:64]!r}", max_chars)
    return ToolCall(optional_str(raw, "id", url, path) or "", name, arguments)


def parse_models(data: Any, url: str) -> list[ModelInfo]:
    """Read a `/v1/models` answer: each model's id and context length (None when not given).

    Raises:
        ProtocolError: the answer is not a model list.
    """
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ProtocolError(f"{url} did not return a model list")
    models = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            length = entry.get("max_model_len")
            known = type(length) is int and length > 0
            models.append(ModelInfo(entry["id"], length if known else None))
    return models
