"""`ToolRegistry`: the set of tools an agent offers, looked up by the name the model calls."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from voxagent.errors import ToolDefinitionError
from voxagent.tools.arguments import ToolArgumentsError
from voxagent.tools.context import RunContext
from voxagent.tools.decorator import tool
from voxagent.tools.definition import Tool, check_tool_name
from voxagent.tools.result import DEFAULT_MAX_RESULT_CHARS, ToolResult, truncate

__all__ = ["TRUNCATED_RESULT", "Runnable", "ToolRegistry"]

TRUNCATED_RESULT = (
    "Not run: your answer was cut off at max_tokens before this call's arguments were complete. "
    "Call it again with complete arguments, or answer in text."
)


@dataclass(frozen=True, slots=True)
class Runnable:
    """A call that may run: its tool, and the validated values the tool will receive."""

    tool: Tool[Any]
    values: dict[str, Any]


class ToolRegistry:
    """Tools by name, checked at registration so the model can call every one of them.

    Args:
        tools: Tools, or plain functions (wrapped with `tool()`), to register now.
        max_result_chars: The global cap on any result's text; a tool's own smaller cap wins.

    Raises:
        ToolDefinitionError: For a duplicate or invalid name, or a function that cannot be a tool.
    """

    def __init__(
        self,
        tools: Iterable[Tool[Any] | Callable[..., Any]] = (),
        *,
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
    ) -> None:
        if max_result_chars < 1:
            raise ToolDefinitionError(
                f"invalid max_result_chars {max_result_chars!r} for the tool registry",
                hint="pass a positive number of characters",
            )
        self.max_result_chars = max_result_chars
        self._tools: dict[str, Tool[Any]] = {}
        for item in tools:
            self.add(item)

    def add(self, item: Tool[Any] | Callable[..., Any]) -> Tool[Any]:
        """Register a tool, or wrap a plain function with `tool()` and register that.

        Args:
            item: The tool or function.

        Returns:
            The registered tool.

        Raises:
            ToolDefinitionError: When the name is taken or invalid, or the function cannot be a
                tool.
        """
        registered = item if isinstance(item, Tool) else tool(item)
        check_tool_name(registered.name)
        if registered.name in self._tools:
            raise ToolDefinitionError(
                f"duplicate tool name {registered.name!r}: the model could not tell the tools"
                " apart",
                hint="give one of them another name with @tool(name=...)",
            )
        self._tools[registered.name] = registered
        return registered

    def remove(self, name: str) -> Tool[Any]:
        """Unregister a tool.

        Args:
            name: Its name.

        Returns:
            The removed tool.

        Raises:
            KeyError: When no tool has that name.
        """
        return self._tools.pop(name)

    def get(self, name: str) -> Tool[Any] | None:
        """The tool with this name, or None."""
        return self._tools.get(name)

    @property
    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._tools)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, Tool):
            return self._tools.get(item.name) is item
        return item in self._tools

    def __iter__(self) -> Iterator[Tool[Any]]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"ToolRegistry({self.names!r})"

    def to_openai(self) -> list[dict[str, Any]]:
        """Every tool as an OpenAI-compatible `tools` entry, in registration order."""
        return [t.to_openai() for t in self._tools.values()]

    async def invoke(
        self,
        name: str,
        arguments: str | Mapping[str, Any] | None,
        ctx: RunContext[Any] | None = None,
    ) -> ToolResult:
        """Run the tool the model asked for; never raises for a failure.

        Args:
            name: The tool name the model sent.
            arguments: Its arguments (JSON text or a mapping).
            ctx: The context to inject.

        Returns:
            The result, capped at the smaller of the tool's and the registry's limit. An unknown
            name gives an error result (kind "unknown_tool") listing the available tools.

        Raises:
            anyio's cancellation exception: Cancellation from outside always propagates.
        """
        start = anyio.current_time()
        prepared = self.prepare(name, arguments)
        if isinstance(prepared, ToolResult):
            return dataclasses.replace(prepared, duration_s=anyio.current_time() - start)
        result = await self.call(prepared.tool, prepared.values, ctx)
        return dataclasses.replace(result, duration_s=anyio.current_time() - start)

    def prepare(
        self,
        name: str,
        arguments: str | Mapping[str, Any] | None,
        *,
        truncated: bool = False,
        round_limit: int | None = None,
    ) -> Runnable | ToolResult:
        """Decide whether the call the model made can run: the one place a call is refused.

        Args:
            name: The tool name the model sent.
            arguments: Its arguments (JSON text or a mapping).
            truncated: The answer was cut off (max_tokens) inside these arguments.
            round_limit: The turn's limit of tool rounds, when it was reached (the call is
                refused so the model answers with what it has).

        Returns:
            The tool and its validated values, or the error result for the model (capped):
            kind "truncated", "unknown_tool", "round_limit", "invalid_json" or
            "invalid_arguments".
        """
        if truncated:
            return ToolResult.failure(self.cap(TRUNCATED_RESULT), "truncated")
        found = self._tools.get(name) if isinstance(name, str) else None
        if found is None:
            available = ", ".join(self._tools) or "none"
            message = f"Unknown tool {name!r}. Available tools: {available}."
            return ToolResult.failure(self.cap(message), "unknown_tool")
        if round_limit is not None:
            message = (
                f"Not run: this turn reached its limit of {round_limit} tool rounds. "
                "Answer the user with what you have."
            )
            return ToolResult.failure(self.cap(message, found), "round_limit")
        try:
            values = found.validate(arguments)
        except ToolArgumentsError as exc:
            return ToolResult.failure(self.cap(str(exc), found), exc.kind)
        return Runnable(found, values)

    async def call(
        self, tool: Tool[Any], values: Mapping[str, Any], ctx: RunContext[Any] | None = None
    ) -> ToolResult:
        """Run a tool with values already validated by `tool.validate`, under the global cap.

        Args:
            tool: The tool (normally `registry.get(name)`).
            values: Validated values by parameter name.
            ctx: The context to inject.

        Returns:
            The result, capped at the smaller of the tool's and the registry's limit.

        Raises:
            anyio's cancellation exception: Cancellation from outside always propagates.
        """
        return await tool.call(values, ctx, max_result_chars=self.max_result_chars)

    def cap(self, content: str, tool: Tool[Any] | None = None) -> str:
        """Apply the registry's (and the tool's) cap to text made outside the registry.

        Args:
            content: The text for the model (for example a validation error message).
            tool: The tool it is about, whose own smaller cap then applies.

        Returns:
            The text, truncated with a marker when too long.
        """
        limit = self.max_result_chars
        if tool is not None and tool.max_result_chars is not None:
            limit = min(limit, tool.max_result_chars)
        return truncate(content, limit)
