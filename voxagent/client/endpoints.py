"""Where a client sends requests and how it reads their options: URL, dialect, tool names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from voxagent.client.dialects import MISTRAL, VLLM, Dialect, detect_dialect
from voxagent.client.errors import public_url
from voxagent.client.types import ModelInfo
from voxagent.errors import ConfigurationError, ModelNotFoundError, ProtocolError

__all__ = [
    "checked_base_url",
    "choose_model",
    "normalise_base_url",
    "pick_dialect",
    "tool_names",
]


def normalise_base_url(base_url: str) -> str:
    """The API root without a trailing slash; "/v1" added when the URL has no path."""
    url = base_url.rstrip("/")
    if urlsplit(url).path in ("", "/"):
        url += "/v1"
    return url


def checked_base_url(base_url: str, redact: Callable[[str], str]) -> str:
    """The normalised API root, parsed now: a bad URL is a configuration error, not a crash
    later (a port out of range even escapes httpx as an ExceptionGroup from the connect).

    Raises:
        ConfigurationError: the URL does not parse (the message shows it without credentials).
    """
    try:
        full_url = normalise_base_url(base_url)
        httpx.URL(full_url)
        _ = urlsplit(full_url).port  # raises ValueError when out of range
    except (ValueError, httpx.InvalidURL) as exc:
        raise ConfigurationError(
            f"invalid base URL {public_url(base_url)!r}: {redact(str(exc))}",
            hint='give the API root, for example "http://127.0.0.1:8000/v1"',
        ) from None
    return full_url


def choose_model(models: list[ModelInfo], wanted: str | None, base_url: str) -> ModelInfo:
    """The model requests will use: the one asked for, or the server's first.

    Raises:
        ModelNotFoundError: the server does not list the model asked for.
        ProtocolError: the server lists no model at all.
    """
    if wanted is None:
        if not models:
            raise ProtocolError(f"{base_url}/models lists no models")
        return models[0]
    for info in models:
        if info.id == wanted:
            return info
    raise ModelNotFoundError(
        f"{base_url} does not serve model {wanted!r}",
        hint=f"the server serves: {', '.join(m.id for m in models) or 'nothing'}",
    )


def pick_dialect(dialect: Literal["vllm", "mistral"] | Dialect | None, base_url: str) -> Dialect:
    """The dialect asked for by name, or the one the URL implies.

    Raises:
        ConfigurationError: an unknown dialect name.
    """
    if isinstance(dialect, Dialect):
        return dialect
    if dialect is None:
        return detect_dialect(base_url)
    if dialect == "vllm":
        return VLLM
    if dialect == "mistral":
        return MISTRAL
    raise ConfigurationError(f"unknown dialect {dialect!r}", hint='use "vllm" or "mistral"')


def tool_names(tools: list[dict[str, Any]] | None) -> frozenset[str]:
    """The function names a request offers (what a streamed call's name can complete to)."""
    names: set[str] = set()
    for spec in tools or ():
        function = spec.get("function") if isinstance(spec, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            names.add(name)
    return frozenset(names)
