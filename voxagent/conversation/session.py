"""Session keys: the stable id a conversation sends for session affinity (`X-Session-ID`)."""

from __future__ import annotations

import re
import secrets

from voxagent.errors import ConversationError

__all__ = ["check_session_key", "new_session_key"]

_SESSION_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def new_session_key() -> str:
    """A fresh random session key (22 URL-safe characters, 128 bits)."""
    return secrets.token_urlsafe(16)


def check_session_key(key: object) -> str:
    """Return `key` when it is a valid session key; raise `ConversationError` otherwise.

    A key travels in an HTTP header (`X-Session-ID`): 1-128 characters of letters, digits and
    `_ . : -`, so no value can split or inject a header.
    """
    if not isinstance(key, str) or _SESSION_KEY.fullmatch(key) is None:
        raise ConversationError(
            f"Invalid session key {key!r}",
            hint="Use 1-128 characters of letters, digits, '_', '.', ':' or '-' (or None).",
        )
    return key
