"""Saving a conversation to one JSON file, and loading it back with full validation.

Format (version 2): `{"format": "voxagent.conversation", "version": 2, "instructions": ...,
"session_key": ..., "compacted": [start, audio_from], "turns": [...]}`; version 1 (no session
key, no compaction floor: both optional) still loads, and older readers refuse version 2 by its
number rather than by its new fields. Each turn has a `kind` (user, assistant, tool_result).
Audio is stored inline as base64 so that one file is the whole conversation: it can be moved,
copied or attached without losing its audio, and it is replaced atomically as one unit. The price
is size: base64 adds a third, about 2.5 MB per minute of 16 kHz 16-bit WAV.

Writes go to a temporary file in the same directory, then `os.replace`, so a crash leaves either
the old file or the new one. Loading validates the structure with pydantic; anything wrong
becomes a `ConversationError`. Storage knows only `ConversationSnapshot`, never the conversation:
`Conversation.from_snapshot` then replays the turns through the conversation's own checks.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from voxagent.audio.clip import AudioClip
from voxagent.client.types import ToolCall
from voxagent.conversation.snapshot import ConversationSnapshot
from voxagent.conversation.turns import AssistantTurn, ToolResultTurn, Turn, UserTurn
from voxagent.errors import AudioError, ConversationError
from voxagent.jsonsafe import JSONLimitError, loads_bounded
from voxagent.text import clean_text

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_FILE_BYTES",
    "load_snapshot",
    "save_snapshot",
    "snapshot_from_dict",
    "snapshot_to_dict",
]

FORMAT_NAME = "voxagent.conversation"
FORMAT_VERSION = 2
_READABLE_VERSIONS = (None, 1, FORMAT_VERSION)
_HINT = "The file is truncated or was edited; restore it from a backup or start a new conversation."
_AUDIO_HINT = (
    "That turn's audio is damaged or was edited: restore the file from a backup, or remove the"
    " turn's audio (keep its text or transcript) and load again."
)
MAX_FILE_BYTES = 512 * 1024 * 1024
"""The largest conversation file `load_conversation` reads (at ~2.5 MB per audio minute, 3 h)."""
# A stored clip is longer than this only when its duration was edited (one turn is minutes).
_MAX_CLIP_SECONDS = 24 * 3600.0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _finite(value: Any) -> Any:
    # Runs before the range checks, so NaN is named as such rather than as out of range.
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number, not {value}")
    return value


class _Audio(_Model):
    format: str = Field(min_length=1)
    duration_s: float = Field(gt=0, le=_MAX_CLIP_SECONDS)
    # Decoded (and checked as audio) once, in _clip_from_model, where the turn's index is known.
    data: str = Field(min_length=1)

    _duration_finite = field_validator("duration_s", mode="before")(_finite)


class _Stamped(_Model):
    created_at: float

    _created_finite = field_validator("created_at", mode="before")(_finite)


class _Call(_Model):
    id: str
    name: str
    arguments: str


class _User(_Stamped):
    kind: Literal["user"]
    uid: str
    text: str | None = None
    audio: _Audio | None = None
    transcript: str | None = None


class _Assistant(_Stamped):
    kind: Literal["assistant"]
    uid: str
    text: str | None = None
    tool_calls: list[_Call] = []
    id_map: dict[str, str] = {}


class _Result(_Stamped):
    kind: Literal["tool_result"]
    uid: str
    call_id: str
    name: str
    content: str
    is_error: bool = False


class _Saved(_Model):
    format: Literal["voxagent.conversation"]
    version: int
    instructions: str | None = None
    # Optional: files written before session keys existed load with a fresh key.
    session_key: str | None = None
    # [start, audio_from] of the last request (what stays compacted); optional like the key.
    compacted: list[Annotated[int, Field(ge=0, le=1 << 31)]] | None = None
    turns: list[Annotated[_User | _Assistant | _Result, Field(discriminator="kind")]]


def _turn_to_dict(turn: Turn) -> dict[str, Any]:
    base = {"uid": turn.uid, "created_at": turn.created_at}
    if isinstance(turn, UserTurn):
        audio = None
        if turn.audio is not None:
            clip = turn.audio
            audio = {"format": clip.format, "duration_s": clip.duration_s, "data": clip.to_base64()}
        return {
            "kind": "user",
            **base,
            "text": turn.text,
            "audio": audio,
            "transcript": turn.transcript,
        }
    if isinstance(turn, AssistantTurn):
        calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in turn.tool_calls]
        return {
            "kind": "assistant",
            **base,
            "text": turn.text,
            "tool_calls": calls,
            "id_map": dict(turn.id_map),
        }
    return {
        "kind": "tool_result",
        **base,
        "call_id": turn.call_id,
        "name": turn.name,
        "content": turn.content,
        "is_error": turn.is_error,
    }


def snapshot_to_dict(snapshot: ConversationSnapshot) -> dict[str, Any]:
    """Return `snapshot` as JSON-ready data in the current format version."""
    data: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "instructions": snapshot.instructions,
        "session_key": snapshot.session_key,
    }
    if snapshot.compacted is not None:
        data["compacted"] = list(snapshot.compacted)
    data["turns"] = [_turn_to_dict(turn) for turn in snapshot.turns]
    return data


def _clean(text: str | None) -> str | None:
    return None if text is None else clean_text(text)


def _clip_from_model(audio: _Audio, index: int) -> AudioClip:
    """Decode a stored clip, proving it is audio a server decodes, of the length stored."""
    # Not a cycle: checking audio loads numpy and libsndfile, which a conversation without
    # audio (and every import of this package) should not pay for.
    from voxagent.audio.ingest import check_clip

    try:
        data = base64.b64decode(audio.data, validate=True)
    except binascii.Error as error:
        raise ConversationError(
            f"turn {index} (user): audio: data is not valid base64 ({error})", hint=_AUDIO_HINT
        ) from error
    clip = AudioClip(data=data, format=audio.format, duration_s=audio.duration_s)
    try:
        check_clip(clip)
    except AudioError as error:
        raise ConversationError(
            f"turn {index} (user): audio: {error.message}", hint=_AUDIO_HINT
        ) from error
    return clip


def _turn_from_model(model: _User | _Assistant | _Result, index: int) -> Turn:
    # A file may carry any escaped character ("\\ud800" included); clean every text field as
    # the conversation's add_* methods do, so a loaded conversation always renders and saves.
    uid = clean_text(model.uid)
    if isinstance(model, _User):
        clip = None if model.audio is None else _clip_from_model(model.audio, index)
        return UserTurn(_clean(model.text), clip, _clean(model.transcript), model.created_at, uid)
    if isinstance(model, _Assistant):
        calls = tuple(
            ToolCall(clean_text(c.id), clean_text(c.name), clean_text(c.arguments))
            for c in model.tool_calls
        )
        id_map = {clean_text(k): clean_text(v) for k, v in model.id_map.items()}
        return AssistantTurn(_clean(model.text), calls, model.created_at, id_map, uid)
    return ToolResultTurn(
        clean_text(model.call_id),
        clean_text(model.name),
        clean_text(model.content),
        model.is_error,
        model.created_at,
        uid,
    )


def _where(loc: tuple[int | str, ...]) -> str:
    # ("turns", 3, "user", "audio", "duration_s") -> "turn 3 (user): audio.duration_s"
    if len(loc) >= 3 and loc[0] == "turns" and isinstance(loc[1], int):
        rest = ".".join(str(part) for part in loc[3:])
        return f"turn {loc[1]} ({loc[2]})" + (f": {rest}" if rest else "")
    return ".".join(str(part) for part in loc) or "top level"


def snapshot_from_dict(data: Any) -> ConversationSnapshot:
    """Validate `data` (from `snapshot_to_dict` or a JSON file) and return its snapshot.

    The turns are checked one by one (fields, text, audio); how they fit together (call ids,
    results) is checked by `Conversation.from_snapshot`.

    Raises:
        ConversationError: The data is not a valid saved conversation.
    """
    if isinstance(data, dict) and data.get("version") not in _READABLE_VERSIONS:
        raise ConversationError(
            f"Saved conversation has format version {data.get('version')!r}; "
            f"this voxagent reads versions 1 and {FORMAT_VERSION}",
            hint="Load it with the voxagent version that wrote it, or upgrade voxagent.",
        )
    try:
        saved = _Saved.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = _where(tuple(first["loc"]))
        raise ConversationError(
            f"Not a valid saved conversation: {where}: {first['msg']} "
            f"({error.error_count()} problem(s))",
            hint=_HINT,
        ) from error
    compacted = None
    if saved.compacted is not None:
        if len(saved.compacted) != 2:
            raise ConversationError(
                "Not a valid saved conversation: compacted: expected [start, audio_from]",
                hint=_HINT,
            )
        compacted = (saved.compacted[0], saved.compacted[1])
    turns = tuple(_turn_from_model(model, index) for index, model in enumerate(saved.turns))
    return ConversationSnapshot(saved.instructions, saved.session_key, turns, compacted)


def save_snapshot(snapshot: ConversationSnapshot, path: Path) -> None:
    """Write `snapshot` to `path` as JSON, atomically (temp file + os.replace).

    Raises:
        ConversationError: The file cannot be written.
    """
    text = json.dumps(snapshot_to_dict(snapshot), ensure_ascii=False)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle = tempfile.NamedTemporaryFile(
            "w",
            encoding="utf-8",
            dir=directory,
            prefix=f".{path.name}.",
            suffix=".tmp",
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


def _read_text(path: Path) -> str:
    # Bounded before decoding: a huge file (or /dev/zero) must not be read whole into memory.
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(0, f"larger than the {MAX_FILE_BYTES // (1024 * 1024)} MB limit")
    return data.decode("utf-8")


def load_snapshot(path: Path) -> ConversationSnapshot:
    """Read and validate a conversation file written by `save_snapshot`.

    Raises:
        ConversationError: The file is missing, unreadable, not JSON, or not a valid conversation.
    """
    try:
        text = _read_text(path)
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConversationError(
            f"Cannot read conversation file {path}: {why or error}",
            hint="Check the path; conversation files are written by Conversation.save.",
        ) from error
    try:
        data = loads_bounded(text, max_bytes=MAX_FILE_BYTES)
    except JSONLimitError as error:  # hostile nesting: refuse it like any other bad file
        # Only depth is left to refuse: _read_text already bounded the size.
        raise ConversationError(
            f"Conversation file {path} is not a conversation (JSON nested too deeply: {error})",
            hint=_HINT,
        ) from error
    except json.JSONDecodeError as error:
        raise ConversationError(
            f"Conversation file {path} is not valid JSON (line {error.lineno}, column "
            f"{error.colno}: {error.msg})",
            hint=_HINT,
        ) from error
    try:
        return snapshot_from_dict(data)
    except ConversationError as error:
        raise ConversationError(f"{path}: {error.message}", hint=error.hint) from error
