"""`AudioClip`: audio encoded and ready to send to Voxtral."""

from __future__ import annotations

import binascii
from dataclasses import FrozenInstanceError
from typing import Any

__all__ = ["AudioClip", "Base64Text"]


class Base64Text(str):
    """Text known to be base64 (only `A-Za-z0-9+/=`), so it never needs JSON escaping.

    The chat request encoder splices such strings into the body as they are instead of scanning
    hundreds of kilobytes of audio for characters to escape.
    """

    __slots__ = ()


class AudioClip:
    """A mono audio file in a format the server decodes (wav, flac, ogg, mp3).

    The clip is stored once, as its base64 encoding (what every chat request carries: a
    conversation sends its recent clips again with each request). The file's bytes are decoded
    from it on demand (`data`: uploads to the transcription endpoint, saving, checks) and never
    kept, so a clip costs 4/3 of its file in memory, not the file plus its base64.

    The encoding is done when the clip is made (usually in a worker thread, off the event loop)
    as ASCII bytes; the first `to_base64()` (the first request, on the event loop) turns those
    into the `Base64Text` every later request reuses, a copy of ~5 us for 3 s, and drops them.
    Making the long-lived text there rather than in the worker thread is what keeps memory
    down with hundreds of sessions: glibc gives each thread its own arena, and long-lived
    objects scattered over the workers' arenas pinned about 0.6 MB a session more in
    `tools/bench_scale.py` (1.55 against 0.95 MB/session at 500 sessions).

    Immutable, compared and hashed by value, picklable.

    Args:
        data: The encoded file (any bytes-like object; it is not kept).
        format: The container/codec name as Voxtral servers expect it: "wav", "flac", "ogg", "mp3".
        duration_s: Length in seconds (used for the token budget: 12.5 tokens per second, each
            clip padded to a multiple of 30 s).

    Raises:
        TypeError: `data` is not bytes-like.

    Attributes:
        format: The container/codec name.
        duration_s: Length in seconds.
    """

    __slots__ = ("_base64", "duration_s", "format")
    __match_args__ = ("data", "format", "duration_s")

    # The base64 of the file: ASCII bytes until the first to_base64(), then only the text.
    _base64: bytes | Base64Text
    format: str
    duration_s: float

    def __init__(self, data: bytes, format: str, duration_s: float) -> None:
        if isinstance(data, str):
            raise TypeError("AudioClip data must be the file's bytes, not str")
        try:
            encoded = binascii.b2a_base64(data, newline=False)
        except TypeError:
            raise TypeError(
                f"AudioClip data must be the file's bytes, not {type(data).__name__}"
            ) from None
        _init(self, encoded, format, duration_s)

    @property
    def data(self) -> bytes:
        """The encoded file, decoded from the stored base64 on each access (not cached).

        Costs a base64 decode (about 0.1 ms for 3 s of WAV): fine per upload or save, not
        something to do per chat request.
        """
        return binascii.a2b_base64(self._base64)

    @property
    def nbytes(self) -> int:
        """Size of the encoded file in bytes, without decoding it."""
        stored = self._base64
        tail = stored[-2:] if isinstance(stored, bytes) else stored[-2:].encode("ascii")
        return len(stored) // 4 * 3 - tail.count(b"=")

    def to_base64(self) -> Base64Text:
        """Return the encoded file as base64 text (what the chat API carries).

        The same object on every call: requests splice it into their bodies without copying it.
        """
        stored = self._base64
        if isinstance(stored, Base64Text):
            return stored
        text = Base64Text(stored, "ascii")
        # Replaces the bytes (the clip holds one form at any time); a race between two threads
        # only makes one of two equal texts the one kept.
        object.__setattr__(self, "_base64", text)
        return text

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, AudioClip)
        # Compared as text: each clip is turned into it by its first request anyway.
        return (self.format, self.duration_s, self.to_base64()) == (
            other.format,
            other.duration_s,
            other.to_base64(),
        )

    def __hash__(self) -> int:
        return hash((self.format, self.duration_s, self.to_base64()))

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as the stored base64 (bytes or text), restored without a decode and re-encode.
        stored = self._base64
        payload = stored if isinstance(stored, bytes) else str(stored)
        return (_restore, (payload, self.format, self.duration_s))

    def __copy__(self) -> AudioClip:
        return self  # immutable: a copy would only double the audio in memory

    def __deepcopy__(self, memo: dict[int, Any]) -> AudioClip:
        return self

    def __repr__(self) -> str:
        # Never dump megabytes of audio into logs or tracebacks.
        return (
            f"AudioClip(format={self.format!r}, duration_s={self.duration_s:.2f}, "
            f"bytes={self.nbytes})"
        )


def _init(clip: AudioClip, stored: bytes | Base64Text, format: str, duration_s: float) -> None:
    object.__setattr__(clip, "_base64", stored)
    object.__setattr__(clip, "format", format)
    object.__setattr__(clip, "duration_s", duration_s)


def _restore(stored: bytes | str, format: str, duration_s: float) -> AudioClip:
    # Only pickle calls this, with what __reduce__ wrote; unpickling is trusted input anyway.
    clip = AudioClip.__new__(AudioClip)
    _init(clip, stored if isinstance(stored, bytes) else Base64Text(stored), format, duration_s)
    return clip
