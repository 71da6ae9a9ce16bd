"""Speculative replies: the model request sent at a pause, before the end of the turn is decided.

When the endpointer reports a candidate end (`VoicePause`), the listen session asks the agent for
a `Speculation`: the request the turn would send if the user stays silent, sent at once. Nothing
of it reaches the user or the conversation while it is speculative: its stream is only buffered.
Only tools declared `read_only` (no side effects, no confirmation) may run, and their results go
into `ReadOnlyResults`, where the confirmed turn finds them when it asks for the same call.

Then one of two things happens:
- the end is confirmed with the same audio: the turn runner checks that the request it would send
  now is exactly the speculative one (same messages, same options) and replays the buffered
  stream, then the live remainder, as if it had just sent it;
- the user speaks again (or anything else differs): the request is cancelled and the buffer
  dropped. Nothing ran but read-only tools, nothing was recorded, nothing was shown or said.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from pydantic_core import to_jsonable_python

from voxagent.aio import closing_stream
from voxagent.client.types import ChatResponse, StreamItem, ToolCall, ToolCallReady
from voxagent.clock import Clock
from voxagent.tools import ToolRegistry, ToolResult
from voxagent.tools.registry import Runnable

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from voxagent.interfaces import ChatModel
    from voxagent.loop.state import ChatRequest
    from voxagent.tools import Tool

__all__ = ["ReadOnlyResults", "Speculation"]

logger = logging.getLogger("voxagent.listen")

# Runs a read-only tool with validated values (the agent supplies its context and tool host).
RunTool = Callable[["Tool[Any]", Mapping[str, Any]], Awaitable[ToolResult]]


@dataclass(slots=True)
class _Entry:
    done: anyio.Event = field(default_factory=anyio.Event)
    result: ToolResult | None = None


class ReadOnlyResults:
    """Results of `read_only` tool calls made during speculation, reusable by the next turn.

    Keyed by tool name and validated arguments: a call the confirmed turn makes with the same
    values gets the result (waiting for it when it is still running) instead of running again.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    @staticmethod
    def key(name: str, values: Mapping[str, Any]) -> str:
        """The identity of a call: its tool and its validated values, as canonical JSON."""
        shown = to_jsonable_python(dict(values), fallback=repr)
        return json.dumps([name, shown], sort_keys=True, ensure_ascii=False)

    def claim(self, key: str) -> _Entry | None:
        """A new entry for `key` to fill, or None when the call is already known."""
        if key in self._entries:
            return None
        entry = self._entries[key] = _Entry()
        return entry

    async def take(self, key: str) -> ToolResult | None:
        """The result of a speculative call with this identity (waiting for it), if any.

        A result is used once: a second identical call in the same turn runs for real.
        """
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        await entry.done.wait()
        return entry.result

    def clear(self) -> None:
        """Forget every result (the turn they were for is over)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class Speculation:
    """One speculative model request and what it has produced so far.

    Args:
        client: The chat model.
        messages: The rendered messages the turn would send (the user's clip included).
        request: The rest of the request the turn would send (tools, settings, session key);
            `request.settings.stream` says whether the answer is streamed.
        at: Stream time of the end of speech this answers (for events).
        registry: The agent's tools (to recognise read-only calls).
        run_tool: Runs a read-only tool (the agent's context and tool host).
        results: Where read-only results go.
        tools: The task group read-only tools run in (they may outlive a discarded request).
        clock: The agent's clock.
    """

    def __init__(
        self,
        *,
        client: ChatModel,
        messages: list[dict[str, Any]],
        request: ChatRequest,
        at: float,
        registry: ToolRegistry,
        run_tool: RunTool,
        results: ReadOnlyResults,
        tools: TaskGroup,
        clock: Clock,
    ) -> None:
        self.client = client
        self.messages = messages
        self.request = request
        self.stream = request.settings.stream
        self.at = at
        self.registry = registry
        self.results = results
        self.tools_run: list[str] = []
        self.sent_at = clock()
        self.closed = False
        self._run_tool = run_tool
        self._tools = tools
        self._items: list[StreamItem] = []
        self._response: ChatResponse | None = None
        self._error: Exception | None = None
        self._finished = False
        self._changed = anyio.Event()
        self._scope = anyio.CancelScope()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def run(self) -> None:
        """Send the request and buffer what comes back (the task a listen session starts)."""
        with self._scope:
            try:
                if self.stream:
                    stream = self.client.stream_chat(self.messages, **self.request.arguments())
                    async with closing_stream(stream) as items:
                        async for item in items:
                            self._items.append(item)
                            self._wake()
                            if isinstance(item, ToolCallReady) and not item.truncated:
                                self._maybe_run(item.call)
                else:
                    response = await self.client.chat(self.messages, **self.request.arguments())
                    self._response = response
                    if response.finish_reason != "length":
                        for call in response.tool_calls:
                            self._maybe_run(call)
            except Exception as exc:  # replayed to the confirmed turn, which reports it
                self._error = exc
        self._finished = True
        self._wake()

    def _maybe_run(self, call: ToolCall) -> None:
        prepared = self.registry.prepare(call.name, call.arguments)
        if not isinstance(prepared, Runnable):
            return  # refused: the confirmed turn reports it to the model
        tool, values = prepared.tool, prepared.values
        if not tool.read_only or tool.confirm:
            return
        entry = self.results.claim(ReadOnlyResults.key(tool.name, values))
        if entry is None:
            return
        self.tools_run.append(tool.name)
        self._tools.start_soon(self._fill, tool, values, entry)

    async def _fill(self, tool: Tool[Any], values: Mapping[str, Any], entry: _Entry) -> None:
        try:
            entry.result = await self._run_tool(tool, values)
        except Exception as exc:  # the tool machinery itself failed: the turn runs it for real
            logger.warning("a speculative call of %s failed: %s", tool.name, exc)
        finally:
            entry.done.set()

    def matches(self, messages: list[dict[str, Any]], request: ChatRequest) -> bool:
        """Whether the turn's request now is exactly this one (so its answer can be used)."""
        return not self.closed and request == self.request and messages == self.messages

    def cancel(self) -> None:
        """Abandon the request (read-only tools already started may finish)."""
        self.closed = True
        self._scope.cancel()

    async def replay(self) -> AsyncGenerator[StreamItem, None]:
        """The stream as if it had just been requested: what was buffered, then the rest.

        Raises:
            VoxagentError: The request failed (the error the stream itself would have raised).
        """
        index = 0
        try:
            while True:
                while index < len(self._items):
                    yield self._items[index]
                    index += 1
                if self._finished:
                    if self._error is not None:
                        raise self._error
                    return
                await self._changed.wait()
        finally:
            self.cancel()  # left early (an error, a barge-in): stop the request too

    async def response(self) -> ChatResponse:
        """The whole answer of a non-streamed request (waiting for it).

        Raises:
            VoxagentError: The request failed.
        """
        try:
            while not self._finished:
                await self._changed.wait()
            if self._error is not None:
                raise self._error
            assert self._response is not None
            return self._response
        finally:
            self.cancel()
