"""Chat-completion chunks assembled into stream items and the final response.

`StreamAssembler` turns the JSON-decoded chunks of an OpenAI-compatible chat stream into
`TextDelta`, `ToolCallReady` and the final `ChatResponse`, checking every field's shape and capping
the text and each call's arguments. It is linear in what it is fed.
"""

from __future__ import annotations

import json
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
from voxagent.client.streamed_arguments import (
    ObjectScanner,
    arguments_complete,
    repair_streamed_arguments,
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

__all__ = ["MAX_CALLS", "StreamAssembler"]

# More calls than this in one answer is a runaway server, not a model (a real answer has a few).
MAX_CALLS = 512
_MAX_NAME = 1024


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name_parts: list[str] = field(default_factory=list)
    name_size: int = 0
    name_done: bool = False  # a later fragment brought arguments but no more name
    parts: list[str] = field(default_factory=list)
    size: int = 0
    scanner: ObjectScanner = field(default_factory=ObjectScanner)
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
        elif call.complete and not call.scanner.closed:
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
