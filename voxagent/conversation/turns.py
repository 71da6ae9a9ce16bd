"""The turns a conversation holds, and the tool-call id rules Voxtral enforces.

Turns are frozen: the conversation replaces a turn (for example when a transcript arrives) rather
than mutating it, and finds it again by its `uid`.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Container
from dataclasses import dataclass, field

from voxagent.audio.clip import AudioClip
from voxagent.client.types import ToolCall

__all__ = [
    "AssistantTurn",
    "ToolResultTurn",
    "Turn",
    "UserTurn",
    "is_valid_call_id",
    "new_call_id",
    "new_uid",
]

_CALL_ID = re.compile(r"[a-zA-Z0-9]{9}")
_ALPHANUMERIC = string.ascii_letters + string.digits


def is_valid_call_id(call_id: str) -> bool:
    """Return True when Voxtral accepts `call_id`: exactly 9 characters of [a-zA-Z0-9]."""
    return _CALL_ID.fullmatch(call_id) is not None


def new_call_id(taken: Container[str] = ()) -> str:
    """Return a fresh valid tool-call id that is not in `taken`."""
    while True:
        candidate = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(9))
        if candidate not in taken:
            return candidate


def new_uid() -> str:
    """Return a unique identifier for a turn (stable across save and load)."""
    return secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class UserTurn:
    """Something the user said or typed.

    Attributes:
        text: Typed text (or text sent alongside the audio), if any.
        audio: The spoken message, if any.
        transcript: What the audio says, once known; used when older audio is compacted.
        created_at: When the turn was added (seconds, from the conversation's clock).
        uid: Identifies the turn inside its conversation.
    """

    text: str | None
    audio: AudioClip | None
    transcript: str | None
    created_at: float
    uid: str = field(default_factory=new_uid)


@dataclass(frozen=True, slots=True)
class AssistantTurn:
    """One assistant message: text, tool calls, or both.

    Attributes:
        text: The assistant's text, if any.
        tool_calls: The calls, with the ids the conversation stores (always valid for Voxtral).
        created_at: When the turn was added.
        id_map: Server id -> stored id for every call (equal when the server's id was kept).
        uid: Identifies the turn inside its conversation.
    """

    text: str | None
    tool_calls: tuple[ToolCall, ...]
    created_at: float
    id_map: dict[str, str] = field(default_factory=dict, hash=False)
    uid: str = field(default_factory=new_uid)


@dataclass(frozen=True, slots=True)
class ToolResultTurn:
    """The result of one tool call.

    Attributes:
        call_id: The stored id of the call this answers.
        name: The tool's name.
        content: The text sent back to the model.
        is_error: Whether the tool failed (the content then describes the failure).
        created_at: When the turn was added.
        uid: Identifies the turn inside its conversation.
    """

    call_id: str
    name: str
    content: str
    is_error: bool
    created_at: float
    uid: str = field(default_factory=new_uid)


Turn = UserTurn | AssistantTurn | ToolResultTurn
