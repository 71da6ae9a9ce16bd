"""The Authorization header an API key becomes, for HTTP requests and realtime websockets alike.

Imports nothing beyond the standard library: the realtime transcriber and the dialects use it
without loading the HTTP stack.
"""

from __future__ import annotations

__all__ = ["bearer_headers"]


def bearer_headers(api_key: str | None) -> dict[str, str]:
    """Return the headers that authenticate with `api_key`: a Bearer token, or none without a key.

    Args:
        api_key: The API key; None or "" sends no Authorization header (vLLM without --api-key).
    """
    if api_key:
        return {"Authorization": f"Bearer {api_key}"}
    return {}
