"""The JSON and SSE the scripted server sends, shaped like vLLM's OpenAI-compatible answers."""

from __future__ import annotations

import json
import random
import string
import time
from typing import Any

from voxagent.testing.replies import Reply

__all__ = ["CallIds", "chat_body", "error_body", "models_body", "sse", "stream_chunks", "usage"]

_ALPHANUMERIC = string.ascii_letters + string.digits


class CallIds:
    """Makes vLLM-style tool call ids: 9 random alphanumerics, reproducible from a seed."""

    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)

    def make(self) -> str:
        """Return a new id."""
        return "".join(self._rng.choices(_ALPHANUMERIC, k=9))


def error_body(status: int, message: str, kind: str | None = None) -> dict[str, Any]:
    """vLLM 0.32's error shape."""
    kinds = {
        400: "BadRequestError",
        401: "AuthenticationError",
        404: "NotFoundError",
        429: "RateLimitError",
    }
    name = kind or kinds.get(status, "InternalServerError" if status >= 500 else "Error")
    return {"error": {"message": message, "type": name, "param": None, "code": status}}


def models_body(model: str, max_model_len: int) -> dict[str, Any]:
    """The `/v1/models` answer."""
    entry = {
        "id": model,
        "object": "model",
        "created": int(time.time()),
        "owned_by": "vllm",
        "root": model,
        "parent": None,
        "max_model_len": max_model_len,
    }
    return {"object": "list", "data": [entry]}


def usage(reply: Reply, prompt_tokens: int) -> dict[str, int]:
    """The usage to report: the reply's own, or the prompt's real count plus a rough completion."""
    if reply.usage is not None:
        return dict(reply.usage)
    words = len((reply.content or "").split())
    completion = words + sum(1 + len(_arguments(c.arguments)) // 4 for c in reply.calls)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
    }


def _arguments(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _calls(reply: Reply, ids: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": _arguments(call.arguments)},
        }
        for call, call_id in zip(reply.calls, ids, strict=True)
    ]


def chat_body(
    reply: Reply, *, model: str, ids: list[str], prompt_tokens: int, request_id: str
) -> dict[str, Any]:
    """A non-streamed `chat.completion`."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.calls:
        message["tool_calls"] = _calls(reply, ids)
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.effective_finish_reason(),
            }
        ],
        "usage": usage(reply, prompt_tokens),
    }


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def stream_chunks(
    reply: Reply,
    *,
    model: str,
    ids: list[str],
    prompt_tokens: int,
    request_id: str,
    include_usage: bool,
) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` objects of a streamed answer, in order ([DONE] not included)."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": request_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    chunks = [chunk({"role": "assistant", "content": ""})]
    if reply.content:
        chunks.extend(
            chunk({"content": piece}) for piece in _pieces(reply.content, reply.chunk_size)
        )
    for index, (call, call_id) in enumerate(zip(reply.calls, ids, strict=True)):
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        )
        for piece in _pieces(_arguments(call.arguments), reply.chunk_size):
            chunks.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            )
    chunks.append(chunk({}, reply.effective_finish_reason()))
    if include_usage:
        chunks.append(
            {
                "id": request_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": usage(reply, prompt_tokens),
            }
        )
    return chunks


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event carrying `data`."""
    text = data if isinstance(data, str) else json.dumps(data)
    return f"data: {text}\n\n".encode()
