"""Server-sent events from an OpenAI-compatible chat stream, and their assembly into a response.

`SSEDecoder` turns raw bytes into event payloads, strictly: anything that is not an SSE field line
is a `ProtocolError` (a proxy's HTML page or a truncated write must not pass as an empty stream).
`StreamAssembler` turns chat-completion chunks into `TextDelta`, `ToolCallReady` and the final
`ChatResponse`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from voxagent.errors import ProtocolError, ServerError
from voxagent.model.http_errors import server_message
from voxagent.model.types import ChatResponse, StreamItem, TextDelta, ToolCall, ToolCallReady, Usage

__all__ = ["SSEDecoder", "StreamAssembler", "parse_usage"]

_IGNORED_FIELDS = frozenset({"event", "id", "retry"})


class SSEDecoder:
    """Incremental SSE parser: `feed(bytes)` returns the `data` payloads of completed events.

    Args:
        max_line: The longest line accepted, in bytes (guards memory against a runaway stream).
    """

    def __init__(self, max_line: int = 8 * 1024 * 1024) -> None:
        self._buffer = b""
        self._data: list[str] = []
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[str]:
        """Add bytes; return the payloads of every event they complete."""
        self._buffer += chunk
        payloads: list[str] = []
        while True:
            cut = self._buffer.find(b"\n")
            if cut < 0:
                break
            raw, self._buffer = self._buffer[:cut], self._buffer[cut + 1 :]
            payload = self._line(raw.rstrip(b"\r"))
            if payload is not None:
                payloads.append(payload)
        if len(self._buffer) > self._max_line:
            raise ProtocolError(f"stream line longer than {self._max_line} bytes")
        return payloads

    def close(self) -> list[str]:
        """End of input: return the last event if the stream ended without its blank line."""
        tail = self._buffer.rstrip(b"\r")
        self._buffer = b""
        payloads = []
        if tail:
            payload = self._line(tail)
            if payload is not None:
                payloads.append(payload)
        if self._data:
            payloads.append("\n".join(self._data))
            self._data = []
        return payloads

    def _line(self, raw: bytes) -> str | None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("stream line is not UTF-8 text") from exc
        if not line:
            if not self._data:
                return None
            payload = "\n".join(self._data)
            self._data = []
            return payload
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name not in _IGNORED_FIELDS or not sep:
            raise ProtocolError(f"malformed server-sent event line: {line[:200]!r}")
        return None


def parse_usage(data: Any) -> Usage | None:
    """Read an OpenAI-style usage object; None when absent or unreadable."""
    if not isinstance(data, dict):
        return None
    try:
        return Usage(
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            completion_tokens=int(data.get("completion_tokens") or 0),
            total_tokens=int(data.get("total_tokens") or 0),
        )
    except (TypeError, ValueError):
        return None


def repair_streamed_arguments(text: str) -> str:
    """Undo a known vLLM artifact in streamed tool-call arguments.

    vLLM 0.32's Mistral tool parser, streaming a named tool_choice, sends the arguments with the
    tail of its own JSON wrapper in front (`:{"room": "kitchen"}`, seen against a real server).
    When the text is not valid JSON but what starts at the first `{` is, that object is the
    arguments; anything else is returned unchanged (tool validation reports it to the model).
    """
    stripped = text.strip()
    if not stripped or stripped[0] in "{[":
        return text
    start = stripped.find("{")
    if start <= 0 or stripped[:start].strip(" :,") != "":
        return text
    try:
        json.loads(stripped[start:])
    except ValueError:
        return text
    return stripped[start:]


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: str = ""
    emitted: bool = False

    def complete(self) -> bool:
        text = repair_streamed_arguments(self.arguments).strip()
        if not text or text[-1] not in "}]":
            return False
        try:
            json.loads(text)
        except ValueError:
            return False
        return True

    def to_call(self) -> ToolCall:
        if not self.name:
            raise ProtocolError("streamed tool call has no function name")
        arguments = repair_streamed_arguments(self.arguments)
        return ToolCall(id=self.id, name=self.name, arguments=arguments)


class StreamAssembler:
    """Assemble chat-completion chunks (already JSON-decoded) into stream items and a response."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._calls: list[_PartialCall] = []
        self._by_index: dict[int, int] = {}
        self._current: int | None = None
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model = ""

    def feed(self, chunk: Any) -> list[StreamItem]:
        """Add one chunk; return the items it makes ready."""
        if not isinstance(chunk, dict):
            raise ProtocolError(f"stream chunk is not a JSON object: {str(chunk)[:200]}")
        if "error" in chunk and "choices" not in chunk:
            return self._error(chunk)
        self.model = str(chunk.get("model") or self.model)
        usage = parse_usage(chunk.get("usage"))
        if usage is not None:
            self.usage = usage
        items: list[StreamItem] = []
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise ProtocolError("stream chunk has a malformed 'choices' field")
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if not isinstance(delta, dict):
                raise ProtocolError("stream chunk has a malformed 'delta' field")
            content = delta.get("content")
            if isinstance(content, str) and content:
                self._text.append(content)
                items.append(TextDelta(content))
            for fragment in delta.get("tool_calls") or ():
                items.extend(self._tool_fragment(fragment))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
                items.extend(self._flush())
        return items

    def finish(self) -> tuple[list[StreamItem], ChatResponse]:
        """End of stream: emit calls not yet emitted, and return the whole response."""
        items = self._flush()
        response = ChatResponse(
            text="".join(self._text) or None,
            tool_calls=tuple(call.to_call() for call in self._calls),
            finish_reason=self.finish_reason,
            usage=self.usage,
            model=self.model,
        )
        return items, response

    def _tool_fragment(self, fragment: Any) -> list[StreamItem]:
        if not isinstance(fragment, dict):
            raise ProtocolError("stream chunk has a malformed tool call delta")
        index = fragment.get("index")
        if not isinstance(index, int):
            index = len(self._calls) if fragment.get("id") else (self._current or 0)
        function = fragment.get("function") or {}
        new_id = fragment.get("id")
        items: list[StreamItem] = []
        position = self._by_index.get(index)
        if (
            position is not None
            and new_id
            and self._calls[position].id
            and (new_id != self._calls[position].id)
        ):
            # Same index, different id: a server that restarts indices per chunk (Mistral's API).
            position = None
        if position is None:
            items.extend(self._flush())
            self._calls.append(_PartialCall())
            position = len(self._calls) - 1
            self._by_index[index] = position
        elif index != self._current:
            items.extend(self._flush(except_position=position))
        self._current = index
        call = self._calls[position]
        if new_id:
            call.id = str(new_id)
        if isinstance(function, dict):
            if function.get("name"):
                call.name += str(function["name"])
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                call.arguments += arguments
            elif isinstance(arguments, dict):
                call.arguments += json.dumps(arguments)
        if not call.emitted and call.name and call.complete():
            call.emitted = True
            items.append(ToolCallReady(position, call.to_call()))
        return items

    def _flush(self, except_position: int | None = None) -> list[StreamItem]:
        items: list[StreamItem] = []
        for position, call in enumerate(self._calls):
            if not call.emitted and position != except_position:
                call.emitted = True
                items.append(ToolCallReady(position, call.to_call()))
        return items

    def _error(self, chunk: dict[str, Any]) -> list[StreamItem]:
        said = server_message(json.dumps(chunk).encode()) or "unknown error"
        raise ServerError(
            f"the server reported an error mid-stream: {said}",
            hint="the model server failed while generating; its log says why",
            server_message=said,
        )
