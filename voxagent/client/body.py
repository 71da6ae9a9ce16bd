"""JSON encoding of chat request bodies without rescanning their audio.

A chat body is ~99% base64 audio: a 10 s clip is ~430 kB of text that `json.dumps` would scan
character by character on every request (about 1 ms each on a 2-core machine, on the event loop).
Base64 never needs JSON escaping, so the audio strings (marked `Base64Text` by `AudioClip`) are
swapped for short placeholders, the small remainder is encoded, and the audio is spliced back in
as bytes. The result is byte-identical to `json.dumps(body, ensure_ascii=False,
separators=(",", ":"))` in UTF-8 (tested).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from voxagent.audio.clip import Base64Text

__all__ = ["encode_body"]

# Strings shorter than this are cheaper to let json.dumps handle than to splice.
_SPLICE_MIN = 4096


def encode_body(body: dict[str, Any]) -> bytes:
    """Encode a chat request body as compact UTF-8 JSON (what goes on the wire).

    Args:
        body: The request body; not modified.

    Returns:
        The encoded body.
    """
    nonce = secrets.token_hex(8)
    blobs: list[bytes] = []

    def placeholder(value: str) -> str:
        blobs.append(value.encode("ascii"))
        return f"voxagent-audio-{nonce}-{len(blobs) - 1}"

    messages = body.get("messages")
    if isinstance(messages, list):
        swapped = [_swap_message(message, placeholder) for message in messages]
        if blobs:
            body = {**body, "messages": swapped}
    encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    if not blobs:
        return encoded
    # The skeleton is small (its audio is out), so finding each placeholder in it is cheap.
    found = []
    for index, blob in enumerate(blobs):
        token = f'"voxagent-audio-{nonce}-{index}"'.encode()
        found.append((encoded.index(token), len(token), blob))
    pieces: list[bytes] = []
    position = 0
    for at, length, blob in sorted(found, key=lambda item: item[0]):
        pieces += (encoded[position : at + 1], blob)
        position = at + length - 1  # keep the closing quote
    pieces.append(encoded[position:])
    return b"".join(pieces)


def _swap_message(message: Any, placeholder: Any) -> Any:
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return message
    parts = [_swap_part(part, placeholder) for part in content]
    if all(new is old for new, old in zip(parts, content, strict=True)):
        return message
    return {**message, "content": parts}


def _swap_part(part: Any, placeholder: Any) -> Any:
    if not isinstance(part, dict) or part.get("type") != "input_audio":
        return part
    audio = part.get("input_audio")
    if _spliceable(audio):  # Mistral's API: the base64 string itself
        return {**part, "input_audio": placeholder(audio)}
    if isinstance(audio, dict) and _spliceable(audio.get("data")):  # vLLM: {data, format}
        return {**part, "input_audio": {**audio, "data": placeholder(audio["data"])}}
    return part


def _spliceable(value: Any) -> bool:
    # Only text made by AudioClip.to_base64 may skip the encoder (checking an arbitrary string
    # for base64-ness would cost as much as encoding it); anything else goes through json.dumps.
    return isinstance(value, Base64Text) and len(value) >= _SPLICE_MIN
