"""The Authorization header an API key becomes, for HTTP requests and realtime websockets alike.

Imports nothing beyond the standard library: the realtime transcriber and the dialects use it
without loading the HTTP stack.
"""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit

__all__ = ["basic_credentials", "bearer_headers"]


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
