"""Turn a server's error answer into a typed `ModelError` with the server's words and a hint."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

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
    VoxagentError,
)
from voxagent.jsonsafe import loads_bounded

__all__ = [
    "ModelTimeoutError",
    "Redactor",
    "error_from_response",
    "public_url",
    "redirect_error",
    "server_message",
    "unreachable_error",
    "url_credentials",
]

_CONTEXT_PATTERNS = re.compile(
    r"maximum context length|max_model_len|prompt is too long|too many tokens|context length",
    re.IGNORECASE,
)
_AUDIO_LIMIT = re.compile(r"At most \d+ audio", re.IGNORECASE)
_TOOL_ID = re.compile(r"tool.?call.?id|tool call id|\bid\b.*9|3280", re.IGNORECASE)
_MAX_MESSAGE = 2000
# scheme://userinfo@ ; greedy up to the last "@" before the path, as urlsplit reads a netloc.
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#]*@")
# Shorter "secrets" would redact ordinary words out of every message; they protect nothing.
_MIN_SECRET = 4
REDACTED = "[redacted]"
_E = TypeVar("_E", bound=BaseException)


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
        data: Any = loads_bounded(text)
    except ValueError:
        return text[:_MAX_MESSAGE]
    found = _message_in(data)
    return (found if found is not None else text)[:_MAX_MESSAGE]


_HTML = re.compile(r"\s*(<!doctype\s+html|<html\b|<head\b|<body\b)", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_ONE_LINE_MAX = 300


def one_line(text: str) -> str:
    """The server's text as one short line for a message (the full text stays on the error).

    An HTML page becomes "an HTML page titled '...'"; other text has its whitespace collapsed
    and is cut at 300 characters.
    """
    if _HTML.match(text):
        title = _TITLE.search(text)
        name = " ".join(title.group(1).split())[:80] if title else ""
        return f"an HTML page titled {name!r}" if name else "an HTML page"
    flat = " ".join(text.split())
    return flat if len(flat) <= _ONE_LINE_MAX else flat[: _ONE_LINE_MAX - 1] + "…"


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
    shown = one_line(said) if said else None
    message = f"{what}: {shown}" if shown else what
    kwargs: dict[str, Any] = {"status_code": status, "server_message": said}
    if said is not None and _HTML.match(said) and status in (404, 405):
        # A web server's page, not an API's error: the URL points at the wrong place.
        return ProtocolError(
            message,
            hint="this is not an OpenAI-compatible API: check --base-url / base_url (vLLM's "
            "and Mistral's end in /v1, e.g. http://127.0.0.1:8000/v1)",
            **kwargs,
        )
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


def public_url(url: object) -> str:
    """Return `url` as text without its userinfo (`user:password@`), for messages and logs."""
    return _USERINFO.sub(r"\1", str(url), count=1)


def url_credentials(url: str) -> list[str]:
    """The secrets a URL's userinfo carries, in every form they may be echoed back in.

    That is the raw and percent-decoded password, the whole `user:password`, and the Basic
    authorization value built from them. A lone user name (`https://TOKEN@host`) is a token too.
    """
    match = _USERINFO.match(url)
    if match is None:
        return []
    userinfo = match.group(0)[len(match.group(1)) : -1]
    user, has_password, password = userinfo.partition(":")
    plain = f"{unquote(user)}:{unquote(password)}"
    found = [userinfo, plain, base64.b64encode(plain.encode()).decode("ascii")]
    if has_password:
        found += [password, unquote(password)]
    else:
        found += [user, unquote(user)]
    return found


class Redactor:
    """Removes secrets (an API key, URL credentials) from text bound for a message or a log.

    Servers and proxies echo requests back (headers in an error page, a key in a stream error),
    and a base URL may carry `user:password@`; none of it may reach an exception, a log line
    or an event.

    Args:
        secrets: The texts to remove; empty and very short ones are ignored.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        found = {secret for secret in secrets if secret and len(secret) >= _MIN_SECRET}
        # Longest first, so a secret containing another is removed whole.
        self.secrets = tuple(sorted(found, key=len, reverse=True))

    @classmethod
    def for_connection(cls, url: str, api_key: str | None) -> Redactor:
        """The redactor for a client of `url` (with its userinfo, if any) using `api_key`."""
        return cls([api_key, *url_credentials(url)])

    def __call__(self, text: str) -> str:
        """Return `text` with every secret replaced by "[redacted]"."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def data(self, raw: bytes) -> bytes:
        """Return `raw` (UTF-8 bytes) with every secret replaced."""
        for secret in self.secrets:
            encoded = secret.encode()
            if encoded in raw:
                raw = raw.replace(encoded, REDACTED.encode())
        return raw

    def error(self, exc: _E) -> _E:
        """Remove the secrets from a `VoxagentError` (and those it was raised from), in place."""
        if not self.secrets:
            return exc
        current: BaseException | None = exc
        seen: set[int] = set()
        while isinstance(current, VoxagentError) and id(current) not in seen:
            seen.add(id(current))
            current.message = self(current.message)
            if current.hint:
                current.hint = self(current.hint)
            current.args = tuple(self(a) if isinstance(a, str) else a for a in current.args)
            if isinstance(current, ModelError) and current.server_message:
                current.server_message = self(current.server_message)
            current = current.__cause__ or current.__context__
        return exc

    @contextmanager
    def guarding(self) -> Iterator[None]:
        """Remove the secrets from any `VoxagentError` leaving the block.

        Every message built from what the server sent (an echoed header in an error page, a
        stream error, a non-JSON preview) passes here on its way to the caller.
        """
        try:
            yield
        except VoxagentError as exc:
            self.error(exc)
            raise

    @asynccontextmanager
    async def guarding_async(self) -> AsyncIterator[None]:
        """`guarding` for an `async with` block."""
        with self.guarding():
            yield


def redirect_error(
    url: str, status: int, location: str | None, *, base_url: str | None = None
) -> ProtocolError:
    """Build the error for a redirect, which voxagent does not follow.

    Args:
        url: The request URL.
        status: The 3xx status.
        location: The Location header, when there was one.
        base_url: The API root the request was made under, to suggest the new one.
    """
    what = f"{url} answered HTTP {status}"
    if not location:
        return ProtocolError(
            f"{what} (a redirect) without saying where to",
            hint="point base_url at the server's API root itself",
            status_code=status,
        )
    target = urljoin(url, location)
    suggestion = _suggested_base(url, target, base_url)
    if _origin(target) != _origin(url):
        return ProtocolError(
            f"{what}: the server redirected to {_origin(target)}; voxagent does not follow "
            f"redirects across origins: point base_url at {suggestion}",
            hint="a redirect to another host would carry the request (and its API key) there; "
            "change base_url yourself if that host is the right one",
            status_code=status,
        )
    return ProtocolError(
        f"{what}: the server redirected to {public_url(target)}; voxagent does not follow "
        f"redirects: point base_url at {suggestion}",
        hint="the API root moved, or a trailing slash or path prefix differs",
        status_code=status,
    )


def _origin(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return public_url(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def _suggested_base(url: str, target: str, base_url: str | None) -> str:
    """Where base_url should point so that the request lands on `target` directly."""
    target = public_url(target).split("?", 1)[0].split("#", 1)[0]
    if base_url and url.startswith(base_url):
        endpoint = url[len(base_url) :].split("?", 1)[0]
        if endpoint and target.rstrip("/").endswith(endpoint):
            return target.rstrip("/")[: -len(endpoint)]
    return f"{_origin(target)}/v1"
