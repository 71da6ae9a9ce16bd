"""Server-sent events from an OpenAI-compatible chat stream.

`SSEDecoder` turns raw bytes into event payloads, strictly: anything that is not an SSE field line
is a `ProtocolError` (a proxy's HTML page or a truncated write must not pass as an empty stream).
It is linear in what it is fed: a stream of a million blank lines costs what reading it once costs.

The chunks' assembly into a response lives in `voxagent.client.stream_assembly`, the streamed
tool-call arguments' checks in `voxagent.client.streamed_arguments`; their names are re-exported
here, where they were first published.
"""

from __future__ import annotations

import re

from voxagent.client.stream_assembly import StreamAssembler
from voxagent.client.streamed_arguments import arguments_complete, repair_streamed_arguments
from voxagent.errors import ProtocolError

__all__ = [
    "SSEDecoder",
    "StreamAssembler",
    "arguments_complete",
    "repair_streamed_arguments",
]

_IGNORED_FIELDS = frozenset({"event", "id", "retry"})
# Three or more line ends in a row are one line end and blank lines that dispatch nothing after
# the first: collapsing them in C keeps a flood of blank lines from costing a Python loop each.
_BLANK_RUN = re.compile(rb"(?:\r?\n){3,}")


class SSEDecoder:
    """Incremental SSE parser: `feed(bytes)` returns the `data` payloads of completed events.

    Args:
        max_line: The longest line, and the largest event, accepted, in bytes (guards memory
            against a runaway stream).
    """

    def __init__(self, max_line: int = 8 * 1024 * 1024) -> None:
        self._partial: list[bytes] = []  # pieces of a line not yet ended
        self._partial_size = 0
        self._data: list[str] = []
        self._data_size = 0
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[str]:
        """Add bytes; return the payloads of every event they complete."""
        if b"\n" not in chunk:
            self._hold(chunk)
            return []
        if b"\n\n\n" in chunk or b"\n\r\n\r\n" in chunk:  # found at memchr speed
            chunk = _BLANK_RUN.sub(b"\n\n", chunk)
        lines = chunk.split(b"\n")
        if self._partial:
            lines[0] = b"".join(self._partial) + lines[0]
            self._partial, self._partial_size = [], 0
        tail = lines.pop()
        payloads: list[str] = []
        for raw in lines:
            if not raw or raw == b"\r":
                if self._data:
                    payloads.append(self._dispatch())
            elif raw[0] != 0x3A:  # ":" starts a comment (keep-alive): nothing to do
                if len(raw) > self._max_line:
                    raise ProtocolError(f"stream line longer than {self._max_line} bytes")
                self._line(raw[:-1] if raw[-1] == 0x0D else raw)
        if tail:
            self._hold(tail)
        return payloads

    def close(self) -> list[str]:
        """End of input: return the last event if the stream ended without its blank line."""
        tail = b"".join(self._partial).rstrip(b"\r")
        self._partial, self._partial_size = [], 0
        if tail and tail[0] != 0x3A:
            self._line(tail)
        return [self._dispatch()] if self._data else []

    def _hold(self, piece: bytes) -> None:
        # Pieces are joined once, when their line ends: `buffer += chunk` would copy the whole
        # line again for every chunk of a long one.
        self._partial.append(piece)
        self._partial_size += len(piece)
        if self._partial_size > self._max_line:
            raise ProtocolError(f"stream line longer than {self._max_line} bytes")

    def _dispatch(self) -> str:
        payload = "\n".join(self._data)
        self._data, self._data_size = [], 0
        return payload

    def _line(self, raw: bytes) -> None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("stream line is not UTF-8 text") from exc
        name, sep, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data_size += len(value) + 1
            if self._data_size > self._max_line:
                raise ProtocolError(f"stream event longer than {self._max_line} bytes")
            self._data.append(value)
        elif name not in _IGNORED_FIELDS or not sep:
            raise ProtocolError(f"malformed server-sent event line: {line[:200]!r}")
