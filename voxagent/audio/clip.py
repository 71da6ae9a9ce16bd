"""`AudioClip`: audio encoded and ready to send to Voxtral."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

__all__ = ["AudioClip", "Base64Text"]


class Base64Text(str):
    """Text known to be base64 (only `A-Za-z0-9+/=`), so it never needs JSON escaping.

    The chat request encoder splices such strings into the body as they are instead of scanning
    hundreds of kilobytes of audio for characters to escape.
    """

    __slots__ = ()


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
    # Every request of a conversation carries its recent clips again; encoding each clip once
    # (not once per request) is what keeps the turn overhead low.
    _base64: Base64Text | None = field(default=None, init=False, repr=False, compare=False)

    def to_base64(self) -> Base64Text:
        """Return the encoded file as base64 text (what the chat API carries), encoded once."""
        if self._base64 is None:
            text = Base64Text(base64.b64encode(self.data).decode("ascii"))
            object.__setattr__(self, "_base64", text)  # a cache, not state: frozen stays true
            return text
        return self._base64

    def __repr__(self) -> str:
        # Never dump megabytes of audio into logs or tracebacks.
        return (
            f"AudioClip(format={self.format!r}, duration_s={self.duration_s:.2f}, "
            f"bytes={len(self.data)})"
        )
