"""Reading whole (non-streamed) answers: JSON decoding and chat completions."""

from __future__ import annotations

import json
from typing import Any

from voxagent.errors import ProtocolError
from voxagent.model.sse import parse_usage
from voxagent.model.types import ChatResponse, ToolCall

__all__ = ["decode_json", "parse_chat"]


def decode_json(raw: bytes, url: str) -> Any:
    """Parse a JSON answer; a non-JSON one is a `ProtocolError` naming the URL."""
    try:
        return json.loads(raw)
    except ValueError as exc:
        preview = raw[:120].decode("utf-8", errors="replace")
        raise ProtocolError(
            f"{url} sent something that is not JSON: {preview!r}",
            hint="is the base URL an OpenAI-compatible API (vLLM or Mistral's)?",
        ) from exc


def parse_chat(data: Any, url: str) -> ChatResponse:
    """Read a non-streamed `chat.completion` into a `ChatResponse`."""
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ProtocolError(f"{url} returned a chat answer without choices[0].message") from exc
    content = message.get("content")
    if isinstance(content, list):
        # Mistral's API may return content as chunks; keep the text ones.
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict)) or None
    calls = []
    for raw_call in message.get("tool_calls") or ():
        function = raw_call.get("function") or {}
        arguments = function.get("arguments", "")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        if not function.get("name"):
            raise ProtocolError(f"{url} returned a tool call without a function name")
        calls.append(ToolCall(str(raw_call.get("id") or ""), str(function["name"]), arguments))
    return ChatResponse(
        text=content if isinstance(content, str) and content else None,
        tool_calls=tuple(calls),
        finish_reason=choice.get("finish_reason"),
        usage=parse_usage(data.get("usage")),
        model=str(data.get("model") or ""),
    )
