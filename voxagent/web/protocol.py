"""The websocket protocol of `voxagent web` (docs/web.md): what a client may send, what it gets.

Client to server: binary messages are audio (16 kHz mono little-endian PCM16, at most
`MAX_FRAME_BYTES` each); text messages are small JSON objects (at most `MAX_TEXT_BYTES`), one of
`hello` (first, with the token), `mode`, `talk` and `confirm`. Server to client: JSON objects,
the agent's events exactly as `voxagent run --events jsonl` writes them (`event_to_dict`), plus
`ready` and `mode`. Anything a client sends is untrusted: it is parsed with bounded size and
depth and checked field by field, and a bad message gets one `error` line saying what was wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from voxagent.events import ErrorEvent, Event, event_to_dict
from voxagent.jsonsafe import loads_bounded

__all__ = [
    "MAX_TEXT_BYTES",
    "Confirm",
    "Hello",
    "Mode",
    "ModeName",
    "ProtocolViolation",
    "Talk",
    "encode",
    "encode_error",
    "encode_event",
    "parse_client_message",
]

MAX_TEXT_BYTES = 4096
"""The largest text (JSON) message a client may send."""
_MAX_TOKEN_CHARS = 512
_MAX_CALL_ID_CHARS = 64

ModeName: TypeAlias = Literal["hands_free", "push_to_talk"]
_MODES: tuple[ModeName, ...] = ("hands_free", "push_to_talk")

# Close codes (RFC 6455 section 7.4, 4000-4999 for applications), documented in docs/web.md.
CLOSE_NORMAL = 1000
CLOSE_PROTOCOL = 1008  # a message broke the protocol (bad JSON, unknown type, bad audio)
CLOSE_TOO_BIG = 1009  # a message over its size limit
CLOSE_SERVER_ERROR = 1011  # the agent could not start (model server unreachable, ...)
CLOSE_TRY_LATER = 1013  # the server already has its maximum of visitors
CLOSE_UNAUTHORIZED = 4401  # missing or wrong token


class ProtocolViolation(Exception):
    """A client message the protocol does not allow (the text says what was wrong).

    Args:
        message: One line for the client.
        close_code: Close the connection with this code; None: tell the client and go on.
    """

    def __init__(self, message: str, *, close_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.close_code = close_code


@dataclass(frozen=True, slots=True)
class Hello:
    """The first message: the access token (None when the server has none), the start mode."""

    token: str | None
    mode: ModeName


@dataclass(frozen=True, slots=True)
class Mode:
    """Switch between hands-free (the endpointer decides) and push-to-talk."""

    mode: ModeName


@dataclass(frozen=True, slots=True)
class Talk:
    """The talk button went down (`pressed`) or up, in push-to-talk mode."""

    pressed: bool


@dataclass(frozen=True, slots=True)
class Confirm:
    """The visitor answered a pending confirmation with a button."""

    call_id: str
    approved: bool


ClientMessage: TypeAlias = Hello | Mode | Talk | Confirm


def parse_client_message(text: str) -> ClientMessage:
    """Parse one text message from a client.

    Raises:
        ProtocolViolation: Too large, not JSON, not an object, an unknown type or a bad field.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise ProtocolViolation(
            f"a text message over {MAX_TEXT_BYTES} bytes", close_code=CLOSE_TOO_BIG
        )
    try:
        value = loads_bounded(text, max_depth=4, max_bytes=MAX_TEXT_BYTES)
    except ValueError:
        raise ProtocolViolation("a text message that is not JSON") from None
    if not isinstance(value, dict):
        raise ProtocolViolation("a text message that is not a JSON object")
    kind = value.get("type")
    match kind:
        case "hello":
            token = value.get("token")
            if token is not None and (not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS):
                raise ProtocolViolation("hello: token must be a short string or null")
            return Hello(token=token, mode=_mode(value.get("mode", "hands_free")))
        case "mode":
            return Mode(mode=_mode(value.get("mode")))
        case "talk":
            return Talk(pressed=_flag(value, "pressed"))
        case "confirm":
            call_id = value.get("call_id")
            if not isinstance(call_id, str) or not 0 < len(call_id) <= _MAX_CALL_ID_CHARS:
                raise ProtocolViolation("confirm: call_id must be the id of the pending call")
            return Confirm(call_id=call_id, approved=_flag(value, "approved"))
    shown = json.dumps(kind)[:40] if isinstance(kind, str) else "missing"
    raise ProtocolViolation(f"unknown message type {shown} (expected hello, mode, talk or confirm)")


def _mode(value: Any) -> ModeName:
    for mode in _MODES:
        if value == mode:
            return mode
    raise ProtocolViolation("mode must be 'hands_free' or 'push_to_talk'")


def _flag(message: dict[str, Any], key: str) -> bool:
    value = message.get(key)
    if not isinstance(value, bool):
        raise ProtocolViolation(f"{message.get('type')}: {key} must be true or false")
    return value


def encode(message: dict[str, Any]) -> str:
    """One server message as JSON text (ASCII only, like `--events jsonl`)."""
    return json.dumps(message, default=str)


def encode_event(event: Event) -> str:
    """An agent event, in the shape `voxagent run --events jsonl` writes it."""
    return encode(event_to_dict(event))


def encode_error(
    message: str, error_type: str, *, hint: str | None = None, recoverable: bool = True
) -> str:
    """An `error` message of the server's own (the same shape as an `ErrorEvent`)."""
    event = ErrorEvent(message=message, error_type=error_type, hint=hint, recoverable=recoverable)
    return encode_event(event)
