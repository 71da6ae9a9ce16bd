"""Turn a server's error answer into a typed `ModelError` with the server's words and a hint."""

from __future__ import annotations

import json
import re
from typing import Any

from voxagent.errors import (
    AuthenticationError,
    BadRequestError,
    ContextLengthError,
    ModelError,
    ModelNotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    ServerUnavailableError,
)

__all__ = ["ModelTimeoutError", "error_from_response", "server_message", "unreachable_error"]

_CONTEXT_PATTERNS = re.compile(
    r"maximum context length|max_model_len|prompt is too long|too many tokens|context length",
    re.IGNORECASE,
)
_AUDIO_LIMIT = re.compile(r"At most \d+ audio", re.IGNORECASE)
_TOOL_ID = re.compile(r"tool.?call.?id|tool call id|\bid\b.*9|3280", re.IGNORECASE)
_MAX_MESSAGE = 2000


class ModelTimeoutError(ServerUnavailableError):
    """The server did not answer (or finish answering) within the configured time."""


def server_message(body: bytes) -> str | None:
    """Extract the server's own error text from an error body, verbatim when it is not JSON.

    Handles vLLM 0.32's `{"error": {"message", "type", "code"}}`, the older
    `{"object": "error", "message": ...}`, Mistral's `{"message"/"detail": ...}` and plain text.
    """
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text[:_MAX_MESSAGE]
    found = _message_in(data)
    return (found if found is not None else text)[:_MAX_MESSAGE]


def _message_in(data: Any) -> str | None:
    if isinstance(data, str):
        return data
    if not isinstance(data, dict):
        return None
    for key in ("error", "message", "detail"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            nested = _message_in(value)
            if nested:
                return nested
        if isinstance(value, list) and value:
            # FastAPI-style validation details: a list of {"loc", "msg"} objects.
            return "; ".join(
                str(item.get("msg", item)) if isinstance(item, dict) else str(item)
                for item in value
            )
    return None


def error_from_response(
    status: int, body: bytes, *, url: str, model: str | None, served: list[str] | None = None
) -> ModelError:
    """Build the typed error for an HTTP error answer.

    Args:
        status: The HTTP status.
        body: The (possibly truncated) response body.
        url: The request URL (never carries credentials).
        model: The model name the request asked for.
        served: The models the server lists, for a 404 hint, when known.

    Returns:
        The error to raise; its message holds the server's message verbatim.
    """
    said = server_message(body)
    what = f"{url} answered HTTP {status}"
    message = f"{what}: {said}" if said else what
    kwargs: dict[str, Any] = {"status_code": status, "server_message": said}
    if status in (400, 422):
        said_text = said or ""
        if _AUDIO_LIMIT.search(said_text):
            return ContextLengthError(
                message,
                hint="too many audio clips in one request: keep at most the server's audio limit "
                "(5 for Voxtral on vLLM, or --limit-mm-per-prompt) and replace older audio by text",
                **kwargs,
            )
        if _CONTEXT_PATTERNS.search(said_text):
            return ContextLengthError(
                message,
                hint="the conversation or the audio is longer than the model's context "
                "(max_model_len): shorten the clip or drop older turns",
                **kwargs,
            )
        hint = "the server rejected the request as invalid; its message says why"
        if _TOOL_ID.search(said_text):
            hint = (
                "tool call ids must be exactly 9 characters of [a-zA-Z0-9], each answered "
                "by a tool result"
            )
        return BadRequestError(message, hint=hint, **kwargs)
    if status in (401, 403):
        return AuthenticationError(
            message,
            hint="check the API key: MISTRAL_API_KEY for Mistral's API, or the key given to "
            "vLLM with --api-key",
            **kwargs,
        )
    if status == 404:
        if served:
            hint = f"the server serves: {', '.join(served)}; pass one of these as the model"
        else:
            hint = "check the model name and the base URL (GET /v1/models lists the served models)"
        label = f"model {model!r} not found: {message}" if model else message
        return ModelNotFoundError(label, hint=hint, **kwargs)
    if status == 429:
        return RateLimitError(
            message,
            hint="the server is rate limiting; wait and try again, or lower the request rate",
            **kwargs,
        )
    if status >= 500:
        return ServerError(
            message,
            hint="the model server failed; its log says why (try again if it is transient)",
            **kwargs,
        )
    return ProtocolError(message, hint="unexpected HTTP status for this API", **kwargs)


def unreachable_error(url: str, reason: str, *, timeout: bool = False) -> ServerUnavailableError:
    """Build the error for a server that could not be reached or did not answer in time."""
    if timeout:
        return ModelTimeoutError(
            f"{url} did not answer in time: {reason}",
            hint="the server may be overloaded or the request too long; raise the timeout or "
            "check the server",
        )
    return ServerUnavailableError(
        f"cannot reach {url}: {reason}",
        hint="is the server running? start one with `voxagent serve`, or pass --base-url",
    )
