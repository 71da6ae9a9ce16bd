"""The Authorization header an API key becomes, for HTTP requests and realtime websockets alike.

Imports nothing beyond the standard library (and voxagent's errors): the realtime transcriber
and the dialects use it without loading the HTTP stack.
"""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit

from voxagent.errors import ConfigurationError

__all__ = ["basic_credentials", "bearer_headers", "url_credentials"]


def bearer_headers(api_key: str | None) -> dict[str, str]:
    """Return the headers that authenticate with `api_key`: a Bearer token, or none without a key.

    Args:
        api_key: The API key; None or "" sends no Authorization header (vLLM without --api-key).
    """
    if api_key:
        return {"Authorization": f"Bearer {api_key}"}
    return {}


def basic_credentials(url: str) -> str | None:
    """Return the Basic authorization header value for a URL's userinfo, or None without one.

    Args:
        url: A URL that may carry `user:password@` (percent-encoded, as URLs carry it).
    """
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return None
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def url_credentials(url: str, shown: str, api_key: str | None) -> str | None:
    """`basic_credentials(url)`, refusing an `api_key` given as well (one way to authenticate).

    Args:
        url: The URL as given (credentials included).
        shown: The same URL without them, for the message.
        api_key: The key given explicitly (not one read from the environment).

    Raises:
        ConfigurationError: The URL carries `user:password@` and `api_key` is given too: both
            would be sent as Authorization (the server picks one, or refuses both) or one
            would be dropped without a word.
    """
    basic = basic_credentials(url)
    if basic is not None and api_key:
        raise ConfigurationError(
            f"{shown}: credentials in the URL and an api_key, two ways to authenticate",
            hint="give one: user:password@ in the URL (sent as Basic auth) or api_key= "
            "(sent as a Bearer token)",
        )
    return basic
