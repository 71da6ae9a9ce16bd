"""The `@tool` decorator: turn a typed Python function into a `Tool` the model can call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, overload

from voxagent.tools.context import RunContext
from voxagent.tools.definition import Tool

__all__ = ["tool"]

DepsT = TypeVar("DepsT")
P = ParamSpec("P")


class _ToolDecorator(Protocol):
    """What `tool(...)` with options returns: a decorator keeping the deps type."""

    @overload
    def __call__(
        self, func: Callable[Concatenate[RunContext[DepsT], P], Any], /
    ) -> Tool[DepsT]: ...

    @overload
    def __call__(self, func: Callable[..., Any], /) -> Tool[Any]: ...


@overload
def tool(
    func: Callable[Concatenate[RunContext[DepsT], P], Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
    timeout: float | None = None,
    max_result_chars: int | None = None,
    read_only: bool = False,
) -> Tool[DepsT]: ...


@overload
def tool(
    func: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
    timeout: float | None = None,
    max_result_chars: int | None = None,
    read_only: bool = False,
) -> Tool[Any]: ...


@overload
def tool(
    func: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
    timeout: float | None = None,
    max_result_chars: int | None = None,
    read_only: bool = False,
) -> _ToolDecorator: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    confirm: bool = False,
    timeout: float | None = None,
    max_result_chars: int | None = None,
    read_only: bool = False,
) -> Tool[Any] | Callable[[Callable[..., Any]], Tool[Any]]:
    """Turn a function into a `Tool` the model can call; use bare (`@tool`) or with options.

    The schema comes from the signature (types, `Annotated[..., Field(...)]` constraints and
    descriptions, defaults) and the docstring (Google, NumPy or Sphinx style): its summary and
    long description describe the tool, its parameter section the arguments.

    Example:
        >>> @tool(timeout=10)
        ... async def set_light(ctx: RunContext[Home], room: Literal["kitchen", "bedroom"],
        ...                     on: bool) -> str:
        ...     '''Switch a light on or off.
        ...
        ...     Args:
        ...         room: Which room's light.
        ...         on: True to switch on.
        ...     '''

    Args:
        func: The function (when used bare), or an existing `Tool` to copy with new options.
        name: The tool's name (default: the function's name).
        description: Replaces the docstring's description.
        confirm: The user must approve each call before it runs.
        timeout: Seconds before a call is reported as timed out (None: no limit).
        max_result_chars: Cap on the result text sent to the model.
        read_only: The call only reads (no side effects): it may run speculatively, while the
            end of the user's turn is still being decided, and its result is reused. Never set it
            on a tool that changes anything; a `confirm=True` tool never runs speculatively.

    Returns:
        The `Tool`, or a decorator making one.

    Raises:
        ToolDefinitionError: When the function cannot become a tool (unannotated, positional-only,
            `*args`/`**kwargs` parameters, a `RunContext` not first, an invalid name...).
    """

    def build(function: Callable[..., Any]) -> Tool[Any]:
        if isinstance(function, Tool):
            # Re-wrapping a tool (registry.add, agent.tool) keeps its options unless overridden.
            return Tool.from_function(
                function.function,
                name=function.name if name is None else name,
                description=function.description if description is None else description,
                confirm=confirm or function.confirm,
                timeout=function.timeout if timeout is None else timeout,
                max_result_chars=(
                    function.max_result_chars if max_result_chars is None else max_result_chars
                ),
                read_only=read_only or function.read_only,
            )
        return Tool.from_function(
            function,
            name=name,
            description=description,
            confirm=confirm,
            timeout=timeout,
            max_result_chars=max_result_chars,
            read_only=read_only,
        )

    return build if func is None else build(func)
