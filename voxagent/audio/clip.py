"""`AudioClip`: audio encoded and ready to send to Voxtral."""

from __future__ import annotations

import base64
from dataclasses import dataclass

__all__ = ["AudioClip"]


@dataclass(frozen=True, slots=True)
class AudioClip:
    """A mono audio file's bytes in a format the server decodes (wav, flac, ogg, mp3).

    Attributes:
        data: The encoded file.
        format: The container/codec name as Voxtral servers expect it: "wav", "flac", "ogg", "mp3".
        duration_s: Length in seconds (used for the token budget: 12.5 tokens per second, each
            clip padded to a multiple of 30 s).
    """

    data: bytes
    format: str
    duration_s: float

    def to_base64(self) -> str:
        """Return the encoded file as base64 text (what the chat API carries)."""
        return base64.b64encode(self.data).decode("ascii")

    def __repr__(self) -> str:
        # Never dump megabytes of audio into logs or tracebacks.
        return (
            f"AudioClip(format={self.format!r}, duration_s={self.duration_s:.2f}, "
            f"bytes={len(self.data)})"
        )
