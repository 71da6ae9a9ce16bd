"""Running a tool's function: async ones in the event loop, sync ones in a worker thread."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.to_thread

from voxagent.tools.context import RunContext
from voxagent.tools.schema import ToolSignature

__all__ = ["is_async_callable", "run_function"]


def is_async_callable(function: Callable[..., Any]) -> bool:
    """True for an `async def` function (or a partial of one) or an object with async `__call__`."""
    if inspect.iscoroutinefunction(function):
        return True
    call = getattr(function, "__call__", None)  # noqa: B004 - we want __call__ itself, not callable()
    return call is not None and inspect.iscoroutinefunction(call)


async def run_function(
    function: Callable[..., Any],
    signature: ToolSignature,
    values: Mapping[str, Any],
    ctx: RunContext[Any] | None,
) -> Any:
    """Call a tool's function with validated values and the injected context.

    The event loop is never blocked: a sync function runs in a worker thread, abandoned on
    cancellation (a timeout or an outer cancel returns at once; Python cannot kill the thread,
    so it finishes on its own).

    Args:
        function: The tool's function.
        signature: Its signature (which parameter takes the context, and how).
        values: Validated values by parameter name.
        ctx: The context; a `RunContext(deps=None)` is made when the function wants one.

    Returns:
        Whatever the function returned (awaited, if it returned an awaitable).

    Raises:
        Exception: Whatever the function raised; anyio's cancellation exception on cancellation.
    """
    args: list[Any] = []
    kwargs = dict(values)
    if signature.context is not None:
        context = ctx if ctx is not None else RunContext(deps=None)
        if signature.context_by_keyword:
            kwargs[signature.context] = context
        else:
            args.append(context)
    if is_async_callable(function):
        result = await function(*args, **kwargs)
    else:
        call = functools.partial(function, *args, **kwargs)
        result = await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
    if inspect.isawaitable(result):
        # A sync callable that returned a coroutine (a wrapper around an async function).
        result = await result
    return result
