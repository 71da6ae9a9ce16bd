"""A `/v1/audio/transcriptions` request's form, and the text read from its answer."""

from __future__ import annotations

from typing import Any

from voxagent.audio.clip import AudioClip
from voxagent.client.answers import decode_json
from voxagent.client.dialects import Dialect
from voxagent.errors import ProtocolError

__all__ = ["transcription_form", "transcription_text"]

_MIME = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg"}


def transcription_form(
    dialect: Dialect,
    clip: AudioClip,
    model: str,
    language: str | None,
    max_completion_tokens: int,
    temperature: float,
) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """The multipart fields and file of a transcription request."""
    fields = {"model": model, "temperature": str(temperature)}
    fields.update(dialect.transcription_fields(max_completion_tokens))
    if language:
        fields["language"] = language
    mime = _MIME.get(clip.format, "application/octet-stream")
    return fields, {"file": (f"audio.{clip.format}", clip.data, mime)}


def transcription_text(raw: bytes, content_type: str, url: Any) -> str:
    """The transcript in an answer: plain text, or JSON with a "text" field.

    Raises:
        ProtocolError: JSON without a text.
    """
    if "json" not in content_type:
        return raw.decode("utf-8", errors="replace").strip()
    data = decode_json(raw, str(url))
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ProtocolError(f"{url} returned no transcription text")
    return str(data["text"])
