"""What a chat request sends: its JSON body and its session header, built in one place.

`ModelClient` and the in-process fakes of `voxagent.testing` build requests here, so a fake sees
byte for byte the body the server would.
"""

from __future__ import annotations

import re
from typing import Any

from voxagent.client.dialects import Dialect
from voxagent.errors import ConfigurationError
from voxagent.settings import ModelSettings

__all__ = ["SESSION_HEADER", "chat_body", "session_headers"]

SESSION_HEADER = "X-Session-ID"
"""The header that carries a conversation's session key (vllm-router and vLLM both read it)."""
# What vLLM and routers accept as a session key, and nothing that could split a header.
_SESSION_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def chat_body(
    model: str,
    dialect: Dialect,
    messages: list[dict[str, Any]],
    *,
    tools: list[dict[str, Any]] | None,
    settings: ModelSettings,
    stream: bool,
) -> dict[str, Any]:
    """The body of one `/v1/chat/completions` request.

    The tool choice goes only with tools (without them it means nothing, and servers refuse
    one); the seed under the dialect's field name; `settings.extra_body` is merged last.
    """
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
    }
    if tools:
        body["tools"] = tools
        body["tool_choice"] = dialect.tool_choice(settings.tool_choice)
    if settings.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = settings.parallel_tool_calls
    if settings.max_tokens is not None:
        body["max_tokens"] = settings.max_tokens
    if settings.seed is not None:
        body[dialect.seed_field] = settings.seed
    if stream:
        body["stream"] = True
        body.update(dialect.stream_options())
    body.update(settings.extra_body or {})
    return body


def session_headers(session: str | None) -> dict[str, str]:
    """The header carrying a session key; checked, since it comes from saved files or users.

    Raises:
        ConfigurationError: `session` is not 1-128 characters of `[A-Za-z0-9_.:-]`.
    """
    if session is None:
        return {}
    if not isinstance(session, str) or _SESSION_KEY.fullmatch(session) is None:
        raise ConfigurationError(
            f"invalid session key {session!r}",
            hint="use 1-128 characters of letters, digits, '_', '.', ':' or '-'",
        )
    return {SESSION_HEADER: session}
