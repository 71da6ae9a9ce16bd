"""Server-sent events from an OpenAI-compatible chat stream, and their assembly into a response.

`SSEDecoder` turns raw bytes into event payloads, strictly: anything that is not an SSE field line
is a `ProtocolError` (a proxy's HTML page or a truncated write must not pass as an empty stream).
`StreamAssembler` turns chat-completion chunks into `TextDelta`, `ToolCallReady` and the final
`ChatResponse`, checking every field's shape and capping the text and each call's arguments.

Both are linear in what they are fed: a stream of a million blank lines, or of a megabyte of
arguments in one-character fragments, costs what reading it once costs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from voxagent.client.answers import (
    MAX_ANSWER_CHARS,
    answer_too_long,
    content_text,
    malformed,
    optional_str,
    parse_usage,
    raise_for_error,
)
from voxagent.client.types import (
    ChatResponse,
    StreamItem,
    TextDelta,
    ToolCall,
    ToolCallReady,
    Usage,
)
from voxagent.errors import ProtocolError
from voxagent.jsonsafe import loads_bounded

__all__ = [
    "SSEDecoder",
    "StreamAssembler",
    "arguments_complete",
    "parse_usage",
    "repair_streamed_arguments",
]

_IGNORED_FIELDS = frozenset({"event", "id", "retry"})
# Three or more line ends in a row are one line end and blank lines that dispatch nothing after
# the first: collapsing them in C keeps a flood of blank lines from costing a Python loop each.
_BLANK_RUN = re.compile(rb"(?:\r?\n){3,}")
# More calls than this in one answer is a runaway server, not a model (a real answer has a few).
MAX_CALLS = 512
_MAX_NAME = 1024


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
        loads_bounded(stripped[start:])
    except ValueError:
        return text
    return stripped[start:]


def arguments_complete(text: str) -> bool:
    """Whether streamed arguments `text` form a whole JSON object (after the vLLM repair).

    Empty or blank text is not complete: a call cut off before its arguments began is as
    unfinished as one cut inside them.
    """
    repaired = repair_streamed_arguments(text)
    if not repaired.strip():
        return False
    try:
        value = loads_bounded(repaired)
    except ValueError:
        return False
    return isinstance(value, dict)


_SIGNIFICANT = re.compile(r'[{}\[\]"\\]')
_LEAD = re.compile(r"[^\s:,]")  # the first character past whitespace and the vLLM wrapper tail
_LEADING, _OPEN, _CLOSED, _DEAD = range(4)


@dataclass(slots=True)
class _ObjectScanner:
    """Tracks, fragment by fragment, where a streamed JSON object would close.

    Parsing the whole text after every fragment is quadratic; this looks at each character
    once (only the structural ones, found by a regex, in Python) and says when a parse is worth
    trying: when the outermost `{` is matched. After that moment a complete object can only stay
    complete by being followed by whitespace, so later text either keeps it or kills it.
    """

    state: int = _LEADING
    depth: int = 0
    in_string: bool = False
    escaped: bool = False

    def feed(self, text: str) -> bool:
        """Scan one fragment; True when it closed the outermost object."""
        if self.state == _CLOSED:
            if text.strip():
                self.state = _DEAD
            return False
        if self.state == _DEAD or not text:
            return False
        start = 0
        if self.state == _LEADING:
            lead = _LEAD.search(text)
            if lead is None:
                return False
            if text[lead.start()] != "{":
                self.state = _DEAD  # not an object: only the end of the stream decides
                return False
            self.state, start = _OPEN, lead.start()
        skip = start
        if self.escaped:  # the previous fragment ended inside a string on a backslash
            self.escaped, skip = False, start + 1
        depth, in_string = self.depth, self.in_string
        for found in _SIGNIFICANT.finditer(text, skip):
            at = found.start()
            if at < skip:
                continue
            char = text[at]
            if in_string:
                if char == "\\":
                    skip = at + 2
                    if skip > len(text):
                        self.escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth <= 0:
                    self.depth, self.in_string = 0, False
                    self.state = _DEAD if text[at + 1 :].strip() else _CLOSED
                    return self.state == _CLOSED
        self.depth, self.in_string = depth, in_string
        return False


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name_parts: list[str] = field(default_factory=list)
    name_size: int = 0
    name_done: bool = False  # a later fragment brought arguments but no more name
    parts: list[str] = field(default_factory=list)
    size: int = 0
    scanner: _ObjectScanner = field(default_factory=_ObjectScanner)
    complete: bool = False  # the arguments parse as a JSON object, as of the last fragment
    emitted: ToolCall | None = None

    @property
    def arguments(self) -> str:
        if len(self.parts) > 1:
            self.parts = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    @property
    def name(self) -> str:
        if len(self.name_parts) > 1:
            self.name_parts = ["".join(self.name_parts)]
        return self.name_parts[0] if self.name_parts else ""

    def to_call(self) -> ToolCall:
        if not self.name:
            raise ProtocolError("the server streamed a tool call with no function name")
        return ToolCall(self.id, self.name, repair_streamed_arguments(self.arguments))


class StreamAssembler:
    """Assemble chat-completion chunks (already JSON-decoded) into stream items and a response.

    A tool call is announced (`ToolCallReady`) as soon as its name is complete and its
    arguments parse as a JSON object. A name counts as complete once a later fragment of the same
    call brings arguments and no name (a fragment is judged by what came before it), or when
    the answer finishes; a call not ready by then is announced at the finish, marked
    `truncated` when the answer was cut at max_tokens (finish_reason "length") before its
    arguments were complete. Fragments of several calls may interleave: switching from one
    call to another announces only the previous call, if its arguments are complete (its name
    is then final).

    Args:
        max_text_chars: The cap on the assistant text, in characters; twice as many chunks,
            and a thousand more, are accepted (a stream of empty chunks is a runaway too).
        max_argument_chars: The cap on each call's arguments, in characters.
        source: Who sends the chunks (the request URL), for error messages.
        tool_names: The names of the tools the request offered. A fragment that completes one of
            them (and no other offered name extends it) makes the name complete at once.

    Raises:
        ProtocolError: (from `feed` and `finish`) a malformed chunk, a nameless call, too many
            calls, or text or arguments over their cap.
        ServerError: (from `feed`) the server reported an error in the stream.
    """

    def __init__(
        self,
        *,
        max_text_chars: int = MAX_ANSWER_CHARS,
        max_argument_chars: int = MAX_ANSWER_CHARS,
        source: str = "the server",
        tool_names: Iterable[str] = (),
    ) -> None:
        self._text: list[str] = []
        self._text_size = 0
        self._calls: list[_PartialCall] = []
        self._by_index: dict[int, int] = {}
        self._last: int | None = None  # position of the call the previous fragment belonged to
        self._tool_names = frozenset(tool_names)
        self._current: int | None = None
        self._max_text = max_text_chars
        # Chunks that carry no text (empty deltas, usage, keep-alive objects) escape the text
        # cap; a real answer has at most about one chunk per character, plus a few.
        self._max_chunks = 2 * max_text_chars + 1024
        self._chunks = 0
        self._max_arguments = max_argument_chars
        self._source = source
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.model = ""

    def feed(self, chunk: Any) -> list[StreamItem]:
        """Add one chunk; return the items it makes ready."""
        source = self._source
        self._chunks += 1
        if self._chunks > self._max_chunks:
            raise ProtocolError(
                f"{source} streamed more than {self._max_chunks} chunks; the answer was abandoned",
                hint="the server kept streaming without finishing; set max_tokens, or raise "
                "max_answer_chars if such long answers are expected",
            )
        if not isinstance(chunk, dict):
            raise malformed(source, "a stream chunk", chunk, "an object")
        raise_for_error(chunk, source, mid_stream=True)
        model = chunk.get("model")
        if model is not None:
            if not isinstance(model, str):
                raise malformed(source, "model", model, "a string")
            self.model = model or self.model
        usage = chunk.get("usage")
        if usage is not None:
            self.usage = parse_usage(usage, source)
        choices = chunk.get("choices")
        if choices is None:
            return []
        if not isinstance(choices, list):
            raise malformed(source, "choices", choices, "a list")
        items: list[StreamItem] = []
        for number, choice in enumerate(choices):
            if not isinstance(choice, dict):
                raise malformed(source, f"choices[{number}]", choice, "an object")
            index = choice.get("index", 0)
            if type(index) is not int:
                raise malformed(source, f"choices[{number}].index", index, "an integer")
            if index != 0:
                continue  # n > 1 was never asked for: only the first choice is the answer
            self._choice(choice, number, items)
        return items

    def finish(self) -> tuple[list[StreamItem], ChatResponse]:
        """End of stream: emit calls not yet emitted, and return the whole response."""
        items = self._flush()
        response = ChatResponse(
            text="".join(self._text) or None,
            tool_calls=tuple(call.emitted or call.to_call() for call in self._calls),
            finish_reason=self.finish_reason,
            usage=self.usage,
            model=self.model,
        )
        return items, response

    def _choice(self, choice: dict[str, Any], number: int, items: list[StreamItem]) -> None:
        source, path = self._source, f"choices[{number}]"
        delta = choice.get("delta")
        if delta is not None:
            if not isinstance(delta, dict):
                raise malformed(source, f"{path}.delta", delta, "an object")
            content = content_text(delta.get("content"), source, f"{path}.delta.content")
            if content:
                self._text_size += len(content)
                if self._text_size > self._max_text:
                    raise answer_too_long(source, "a text answer", self._max_text)
                self._text.append(content)
                items.append(TextDelta(content))
            fragments = delta.get("tool_calls")
            if fragments is not None:
                if not isinstance(fragments, list):
                    raise malformed(source, f"{path}.delta.tool_calls", fragments, "a list")
                for at, fragment in enumerate(fragments):
                    self._tool_fragment(fragment, f"{path}.delta.tool_calls[{at}]", items)
        finish = optional_str(choice, "finish_reason", source, path)
        if finish:
            self.finish_reason = finish
            items.extend(self._flush())

    def _tool_fragment(self, fragment: Any, path: str, items: list[StreamItem]) -> None:
        source = self._source
        if not isinstance(fragment, dict):
            raise malformed(source, path, fragment, "an object")
        new_id = optional_str(fragment, "id", source, path)
        index = fragment.get("index")
        if index is None:
            index = len(self._calls) if new_id else (self._current or 0)
        elif type(index) is not int:
            raise malformed(source, f"{path}.index", index, "an integer")
        function = fragment.get("function")
        if function is None:
            function = {}
        elif not isinstance(function, dict):
            raise malformed(source, f"{path}.function", function, "an object")
        name = optional_str(function, "name", source, f"{path}.function")
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)  # Mistral's API may send an object, once, whole
        elif arguments is not None and not isinstance(arguments, str):
            raise malformed(source, f"{path}.function.arguments", arguments, "a string")

        position = self._by_index.get(index)
        if position is not None and new_id:
            known = self._calls[position].id
            if known and new_id != known:
                # Same index, different id: a server that restarts indices per chunk (Mistral's).
                position = None
        if position is None:
            if len(self._calls) >= MAX_CALLS:
                raise ProtocolError(
                    f"{source} streamed more than {MAX_CALLS} tool calls in one answer",
                    hint="the server misbehaves; a model makes a few calls per answer",
                )
            self._calls.append(_PartialCall())
            position = len(self._calls) - 1
            self._by_index[index] = position
        self._current = index
        if self._last is not None and self._last != position:
            # The server moved on to another call: the previous call's name is final (servers
            # send a name whole, or in consecutive fragments), so it may go now if complete.
            items.extend(self._settle(self._last))
        self._last = position
        call = self._calls[position]
        if new_id:
            call.id = new_id
        # The name is known complete only from a fragment *before* this one: in "set_" + "{}",
        # then "light", the "{}" fragment must not fire "set_" on its own.
        name_known = call.name_done
        if name and not name_known and call.emitted is None and self._final_name(call, name):
            # A requested tool's whole name, which no other requested name extends: it cannot
            # grow into another tool, so the call may go as soon as its arguments close (a
            # server that sends a whole call in one fragment keeps early dispatch).
            name_known = True
            call.name_parts.append(name)
            call.name_size += len(name)
            call.name_done = True
            name = None
        if name:
            if call.emitted is not None:
                raise self._after_emit(call)
            call.name_size += len(name)
            if call.name_size > _MAX_NAME:
                raise answer_too_long(source, "a tool call name", _MAX_NAME)
            call.name_parts.append(name)
            call.name_done = name_known = False
        elif arguments and call.name_size:
            call.name_done = True
        if arguments:
            self._add_arguments(call, arguments)
        if call.emitted is None and name_known and call.complete:
            call.emitted = call.to_call()
            items.append(ToolCallReady(position, call.emitted))

    def _final_name(self, call: _PartialCall, fragment: str) -> bool:
        if not self._tool_names:
            return False
        whole = call.name + fragment
        if whole not in self._tool_names:
            return False
        return not any(other != whole and other.startswith(whole) for other in self._tool_names)

    def _settle(self, position: int) -> list[StreamItem]:
        call = self._calls[position]
        if call.name_size:
            call.name_done = True
        if call.emitted is None and call.name_done and call.complete:
            call.emitted = call.to_call()
            return [ToolCallReady(position, call.emitted)]
        return []

    def _add_arguments(self, call: _PartialCall, arguments: str) -> None:
        if call.emitted is not None:
            if arguments.strip():
                raise self._after_emit(call)
            return  # whitespace after a complete object changes nothing
        call.size += len(arguments)
        if call.size > self._max_arguments:
            raise answer_too_long(
                self._source, f"arguments for tool call {call.name[:64]!r}", self._max_arguments
            )
        call.parts.append(arguments)
        closed = call.scanner.feed(arguments)
        if closed:
            call.complete = arguments_complete(call.arguments)
        elif call.complete and call.scanner.state != _CLOSED:
            call.complete = False  # more than whitespace followed the object

    def _after_emit(self, call: _PartialCall) -> ProtocolError:
        return ProtocolError(
            f"{self._source} streamed more of tool call {call.name[:64]!r} after its arguments "
            "were complete (the call was already dispatched)",
            hint="the server's tool-call streaming is broken; try stream=False",
        )

    def _flush(self) -> list[StreamItem]:
        """The end of the answer: every call not yet announced is, now."""
        items: list[StreamItem] = []
        cut = self.finish_reason == "length"
        for position, call in enumerate(self._calls):
            if call.emitted is None:
                call.emitted = call.to_call()
                truncated = cut and not arguments_complete(call.arguments)
                items.append(ToolCallReady(position, call.emitted, truncated=truncated))
        return items
