"""Saving a conversation to one JSON file, and loading it back with full validation.

Format (version 1): `{"format": "voxagent.conversation", "version": 1, "instructions": ...,
"turns": [...]}`; each turn has a `kind` (user, assistant, tool_result). Audio is stored inline as
base64 so that one file is the whole conversation: it can be moved, copied or attached without
losing its audio, and it is replaced atomically as one unit. The price is size: base64 adds a
third, about 2.5 MB per minute of 16 kHz 16-bit WAV.

Writes go to a temporary file in the same directory, then `os.replace`, so a crash leaves either
the old file or the new one. Loading validates the structure with pydantic and replays the turns
through the conversation's own checks; anything wrong becomes a `ConversationError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from voxagent.audio.clip import AudioClip
from voxagent.conversation.turns import AssistantTurn, ToolResultTurn, Turn, UserTurn
from voxagent.errors import ConversationError
from voxagent.model.types import ToolCall

if TYPE_CHECKING:
    from voxagent.conversation.history import Conversation

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "conversation_from_dict",
    "conversation_to_dict",
    "load_conversation",
    "save_conversation",
]

FORMAT_NAME = "voxagent.conversation"
FORMAT_VERSION = 1
_HINT = "The file is truncated or was edited; restore it from a backup or start a new conversation."


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Audio(_Model):
    format: str = Field(min_length=1)
    duration_s: float = Field(gt=0)
    data: str

    @field_validator("duration_s")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("duration_s must be finite")
        return value

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            if not base64.b64decode(value, validate=True):
                raise ValueError("audio data is empty")
        except binascii.Error as error:
            raise ValueError(f"audio data is not valid base64: {error}") from error
        return value


class _Call(_Model):
    id: str
    name: str
    arguments: str


class _User(_Model):
    kind: Literal["user"]
    uid: str
    created_at: float
    text: str | None = None
    audio: _Audio | None = None
    transcript: str | None = None


class _Assistant(_Model):
    kind: Literal["assistant"]
    uid: str
    created_at: float
    text: str | None = None
    tool_calls: list[_Call] = []
    id_map: dict[str, str] = {}


class _Result(_Model):
    kind: Literal["tool_result"]
    uid: str
    created_at: float
    call_id: str
    name: str
    content: str
    is_error: bool = False


class _Saved(_Model):
    format: Literal["voxagent.conversation"]
    version: int
    instructions: str | None = None
    turns: list[Annotated[_User | _Assistant | _Result, Field(discriminator="kind")]]


def _turn_to_dict(turn: Turn) -> dict[str, Any]:
    base = {"uid": turn.uid, "created_at": turn.created_at}
    if isinstance(turn, UserTurn):
        audio = None
        if turn.audio is not None:
            clip = turn.audio
            audio = {"format": clip.format, "duration_s": clip.duration_s, "data": clip.to_base64()}
        return {"kind": "user", **base, "text": turn.text, "audio": audio,
                "transcript": turn.transcript}
    if isinstance(turn, AssistantTurn):
        calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in turn.tool_calls]
        return {"kind": "assistant", **base, "text": turn.text, "tool_calls": calls,
                "id_map": dict(turn.id_map)}
    return {"kind": "tool_result", **base, "call_id": turn.call_id, "name": turn.name,
            "content": turn.content, "is_error": turn.is_error}


def conversation_to_dict(conversation: Conversation) -> dict[str, Any]:
    """Return `conversation` as JSON-ready data in the current format version."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "instructions": conversation.instructions,
        "turns": [_turn_to_dict(turn) for turn in conversation.turns],
    }


def _turn_from_model(model: _User | _Assistant | _Result) -> Turn:
    if isinstance(model, _User):
        clip = None
        if model.audio is not None:
            audio = model.audio
            data = base64.b64decode(audio.data)
            clip = AudioClip(data=data, format=audio.format, duration_s=audio.duration_s)
        return UserTurn(model.text, clip, model.transcript, model.created_at, model.uid)
    if isinstance(model, _Assistant):
        calls = tuple(ToolCall(c.id, c.name, c.arguments) for c in model.tool_calls)
        return AssistantTurn(model.text, calls, model.created_at, dict(model.id_map), model.uid)
    return ToolResultTurn(model.call_id, model.name, model.content, model.is_error,
                          model.created_at, model.uid)


def conversation_from_dict(data: Any, *, clock: Callable[[], float]) -> Conversation:
    """Validate `data` (from `conversation_to_dict` or a JSON file) and rebuild the conversation.

    Raises:
        ConversationError: The data is not a valid saved conversation.
    """
    from voxagent.conversation.history import Conversation

    if isinstance(data, dict) and data.get("version") not in (None, FORMAT_VERSION):
        raise ConversationError(
            f"Saved conversation has format version {data.get('version')!r}; "
            f"this voxagent reads version {FORMAT_VERSION}",
            hint="Load it with the voxagent version that wrote it, or upgrade voxagent.",
        )
    try:
        saved = _Saved.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        raise ConversationError(
            f"Not a valid saved conversation: {where}: {first['msg']} "
            f"({error.error_count()} problem(s))",
            hint=_HINT,
        ) from error
    conversation = Conversation(saved.instructions, clock=clock)
    for model in saved.turns:
        conversation._restore(_turn_from_model(model))  # storage is part of the conversation
    return conversation


def save_conversation(conversation: Conversation, path: Path) -> None:
    """Write `conversation` to `path` as JSON, atomically (temp file + os.replace).

    Raises:
        ConversationError: The file cannot be written.
    """
    text = json.dumps(conversation_to_dict(conversation), ensure_ascii=False)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=directory, prefix=f".{path.name}.", suffix=".tmp",
            delete=False,
        )
        try:
            with handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(handle.name, path)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ConversationError(
            f"Cannot save the conversation to {path}: {error.strerror or error}",
            hint="Check that the directory exists and is writable, and that the disk has room.",
        ) from error


def load_conversation(path: Path, *, clock: Callable[[], float]) -> Conversation:
    """Read and validate a conversation file written by `save_conversation`.

    Raises:
        ConversationError: The file is missing, unreadable, not JSON, or not a valid conversation.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConversationError(
            f"Cannot read conversation file {path}: {why or error}",
            hint="Check the path; conversation files are written by Conversation.save.",
        ) from error
    try:
        data = json.loads(text)
    except RecursionError as error:  # hostile nesting: refuse it like any other bad file
        raise ConversationError(
            f"Conversation file {path} is not a conversation (JSON nested too deeply)",
            hint=_HINT,
        ) from error
    except json.JSONDecodeError as error:
        raise ConversationError(
            f"Conversation file {path} is not valid JSON (line {error.lineno}, column "
            f"{error.colno}: {error.msg})",
            hint=_HINT,
        ) from error
    try:
        return conversation_from_dict(data, clock=clock)
    except ConversationError as error:
        raise ConversationError(f"{path}: {error.message}", hint=error.hint) from error
