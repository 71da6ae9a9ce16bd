"""`Tool`: a typed Python function the model can call, with its validated schema.

Made by the `@tool` decorator (voxagent.tools.decorator) or `Tool.from_function`; `validate`
checks the model's arguments and `invoke`/`call` run it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, Generic, Protocol, TypeVar

import anyio

from voxagent.errors import ToolDefinitionError, ToolError
from voxagent.tools.arguments import ToolArgumentsError, validate_arguments
from voxagent.tools.context import RunContext
from voxagent.tools.docstrings import parse_docstring
from voxagent.tools.invoke import Outcome, is_async_callable, run_bounded, run_function
from voxagent.tools.result import (
    DEFAULT_MAX_RESULT_CHARS,
    ToolResult,
    UnserialisableResultError,
    serialise_result,
    truncate,
)
from voxagent.tools.schema import ToolSignature, inspect_signature

__all__ = ["TOOL_NAME_PATTERN", "Tool", "ToolFunction", "check_tool_name"]

DepsT = TypeVar("DepsT")

TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""Names Mistral models (and the OpenAI API) can call: letters, digits, _ and -, 1-64 chars."""

_LOGGER = logging.getLogger("voxagent.tools")


def check_tool_name(name: str) -> None:
    """Raise unless the model can call a tool by this name.

    Args:
        name: The tool name.

    Raises:
        ToolDefinitionError: When the name does not match `TOOL_NAME_PATTERN`.
    """
    if not isinstance(name, str) or not TOOL_NAME_PATTERN.fullmatch(name):
        raise ToolDefinitionError(
            f"invalid tool name {name!r}: the model can only call names of 1 to 64 letters,"
            " digits, '_' or '-'",
            hint="pass a valid name, for example @tool(name='set_light')",
        )


class ToolFunction(Protocol):
    """A plain function given as a tool without `@tool` (the agent wraps it).

    A protocol rather than `Callable[..., Any]` on purpose: a `Tool` is callable too, and would
    then match it, so `Agent[B](tools=[tool_typed_for_A])` would pass the type checker.
    """

    __code__: CodeType

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function."""


@dataclass(eq=False)
class Tool(Generic[DepsT]):
    """A Python function the model can call, with its validated schema.

    Make one with `@tool`; calling the object calls the original function. `Tool[Home]` is a
    tool whose first parameter is `RunContext[Home]` (the type checker holds it to an
    `Agent[Home]`); a tool without a context is a `Tool[Any]`.

    Attributes:
        name: The name the model calls it by.
        description: What it does, for the model (from the docstring unless given).
        parameters: JSON Schema (an object) of the model-visible arguments.
        confirm: True when the user must approve each call before it runs (the agent asks).
        timeout: Seconds a call may take before it is reported as timed out; None for no limit.
        max_result_chars: Cap on the result text for this tool; None to use the registry's.
        read_only: True when a call has no side effects (it only reads), so the agent may run
            it speculatively, before the end of the user's turn is decided, and reuse its result.
        function: The original function.
        signature: The argument model and context parameter, derived from the function.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    confirm: bool
    timeout: float | None
    max_result_chars: int | None
    function: Callable[..., Any]
    signature: ToolSignature = field(repr=False)
    read_only: bool = False

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        confirm: bool = False,
        timeout: float | None = None,
        max_result_chars: int | None = None,
        read_only: bool = False,
    ) -> Tool[Any]:
        """Build a tool from a function (what `@tool` does).

        Args:
            function: A `def` or `async def`; an optional first parameter annotated `RunContext`
                is injected; every other parameter needs a type annotation.
            name: The tool's name; defaults to the function's `__name__`.
            description: Overrides the docstring's summary and long description.
            confirm: Require the user's approval before each call.
            timeout: Seconds before a call is reported as timed out.
            max_result_chars: Cap on the result text.
            read_only: The call has no side effects (see the attribute).

        Returns:
            The tool.

        Raises:
            ToolDefinitionError: When the function cannot become a tool (see `inspect_signature`),
                the name is invalid, or an option is out of range.
        """
        if not callable(function):
            raise ToolDefinitionError(
                f"cannot make a tool from {function!r}: it is not callable",
                hint="decorate a def or async def function",
            )
        tool_name = name if name is not None else getattr(function, "__name__", "")
        check_tool_name(tool_name)
        if inspect.isasyncgenfunction(function) or inspect.isgeneratorfunction(function):
            raise ToolDefinitionError(
                f"cannot make tool {tool_name!r}: it is a generator, but a tool returns one result",
                hint="collect the items into a list and return it",
            )
        if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
            raise ToolDefinitionError(
                f"invalid timeout {timeout!r} for tool {tool_name!r}: it must be positive",
                hint="pass a number of seconds, or None for no limit",
            )
        if max_result_chars is not None and max_result_chars < 1:
            raise ToolDefinitionError(
                f"invalid max_result_chars {max_result_chars!r} for tool {tool_name!r}",
                hint="pass a positive number of characters, or None",
            )
        documented = function
        while isinstance(documented, functools.partial):
            documented = documented.func  # partial's own docstring describes partial itself
        docs = parse_docstring(inspect.getdoc(documented))
        signature = inspect_signature(function, tool_name, docs.params)
        return cls(
            name=tool_name,
            description=description if description is not None else docs.description,
            parameters=signature.parameters,
            confirm=confirm,
            timeout=timeout,
            max_result_chars=max_result_chars,
            function=function,
            signature=signature,
            read_only=read_only,
        )

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        """The original function, so `inspect.signature(tool_obj)` shows its signature."""
        return self.function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the original function directly, bypassing validation."""
        return self.function(*args, **kwargs)

    def to_openai(self) -> dict[str, Any]:
        """The tool as an OpenAI-compatible `tools` entry (what vLLM and Mistral's API take)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    def validate(self, arguments: str | Mapping[str, Any] | None) -> dict[str, Any]:
        """Parse and validate the model's arguments.

        Args:
            arguments: A JSON object as text ("" and "null" mean none) or a mapping.

        Returns:
            Validated values by parameter name (the context parameter excluded).

        Raises:
            ToolArgumentsError: Its `str()` is the message for the model.
        """
        return validate_arguments(self.signature.model, self.signature.fields, arguments, self.name)

    async def invoke(
        self,
        arguments: str | Mapping[str, Any] | None,
        ctx: RunContext[Any] | None = None,
        *,
        max_result_chars: int | None = None,
    ) -> ToolResult:
        """Validate the model's arguments and run the tool; never raises for a failure.

        Args:
            arguments: What the model sent (see `validate`).
            ctx: The context to inject; a `RunContext(deps=None)` is made when the tool takes
                one and none is given.
            max_result_chars: An outer cap (the registry's); the smaller of it and the tool's own
                applies, `DEFAULT_MAX_RESULT_CHARS` when neither is set.

        Returns:
            The result; on failure `is_error=True` and `content` explains it to the model.

        Raises:
            anyio's cancellation exception: Cancellation from outside always propagates.
        """
        start = anyio.current_time()
        try:
            values = self.validate(arguments)
        except ToolArgumentsError as exc:
            return ToolResult(
                content=truncate(str(exc), self._cap(max_result_chars)),
                is_error=True,
                error_kind=exc.kind,
                duration_s=anyio.current_time() - start,
            )
        result = await self.call(values, ctx, max_result_chars=max_result_chars)
        return dataclasses.replace(result, duration_s=anyio.current_time() - start)

    async def call(
        self,
        values: Mapping[str, Any],
        ctx: RunContext[Any] | None = None,
        *,
        max_result_chars: int | None = None,
    ) -> ToolResult:
        """Run the tool with already validated values (from `validate`).

        Sync functions run in a worker thread; async ones in the event loop. A timeout cancels
        an async tool; a sync one is abandoned in its thread and reported as timed out.

        Args:
            values: Values by parameter name.
            ctx: The context to inject, as in `invoke`.
            max_result_chars: An outer cap, as in `invoke`.

        Returns:
            The result; exceptions, `ToolError`, timeouts and unserialisable values become error
            results.

        Raises:
            anyio's cancellation exception: Cancellation from outside always propagates.
        """
        cap = self._cap(max_result_chars)
        start = anyio.current_time()
        logger = ctx.logger if ctx is not None else _LOGGER

        def finish(content: str, kind: str | None = None, value: Any = None) -> ToolResult:
            return ToolResult(
                content=truncate(content, cap),
                is_error=kind is not None,
                value=value,
                error_kind=kind,
                duration_s=anyio.current_time() - start,
            )

        def run() -> Awaitable[Any]:
            return run_function(self.function, self.signature, values, ctx)

        outcome = Outcome()
        try:
            # Our own deadline rather than fail_after: a TimeoutError raised by the tool itself
            # (a socket timeout) must not be mistaken for ours.
            if self.timeout is None and not is_async_callable(self.function):
                outcome.value = await run()  # a thread: abandoned on cancellation anyway
            else:
                # Bounded, and left behind if it ignores cancellation (at its timeout, or when
                # the turn is cancelled), so a stubborn async tool cannot hold the turn.
                limit = math.inf if self.timeout is None else self.timeout
                outcome = await run_bounded(run, limit)
                if outcome.error is not None:
                    raise outcome.error
        except ToolError as exc:
            return finish(str(exc) or f"Tool {self.name} failed.", "tool_error")
        except Exception as exc:
            logger.error("tool %r raised %s", self.name, type(exc).__name__, exc_info=exc)
            text = str(exc)
            return finish(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, "raised")
        value = outcome.value
        if outcome.abandoned:
            logger.warning(
                "tool %r ignored cancellation at its %g s timeout; left running",
                self.name,
                self.timeout,
            )
            return finish(
                f"Tool {self.name} timed out after {self.timeout:g} s and did not stop when "
                "cancelled: stopped waiting for it; it may still complete.",
                "timeout",
            )
        if outcome.timed_out:
            logger.warning("tool %r timed out after %g s", self.name, self.timeout)
            if not is_async_callable(self.function):
                # Python cannot stop a thread: the tool may still act. Say so, not "cancelled".
                return finish(
                    f"Tool {self.name} timed out after {self.timeout:g} s: stopped waiting for "
                    "it; it was already running and may still complete.",
                    "timeout",
                )
            return finish(f"Tool {self.name} timed out after {self.timeout:g} s.", "timeout")
        try:
            content = serialise_result(value)
        except UnserialisableResultError as exc:
            logger.error("tool %r returned an unserialisable value: %s", self.name, exc)
            return finish(f"Tool {self.name} failed: {exc}.", "unserialisable")
        return finish(content, value=value)

    def _cap(self, outer: int | None) -> int:
        caps = [c for c in (self.max_result_chars, outer) if c is not None]
        return min(caps) if caps else DEFAULT_MAX_RESULT_CHARS
