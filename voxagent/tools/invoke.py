"""Running a tool's function: async ones in the event loop, sync ones in a worker thread."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc
import anyio.to_thread

from voxagent.tools.context import RunContext
from voxagent.tools.schema import ToolSignature

__all__ = ["Outcome", "is_async_callable", "run_bounded", "run_function", "tool_host"]


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


# The task group where an async tool with a timeout runs, so that one which ignores cancellation
# can be left behind at its timeout instead of holding the turn. Set by the agent around a turn
# (its own long-lived group); without it, tools run in the caller's task as before.
_TOOL_HOST: contextvars.ContextVar[anyio.abc.TaskGroup | None] = contextvars.ContextVar(
    "voxagent_tool_host", default=None
)
# How long a cancelled tool gets to stop before it is left behind.
ABANDON_GRACE_S = 0.5


@contextlib.contextmanager
def tool_host(group: anyio.abc.TaskGroup | None) -> Iterator[None]:
    """Run async tools with a timeout in `group` (a task group that outlives the call)."""
    token = _TOOL_HOST.set(group)
    try:
        yield
    finally:
        _TOOL_HOST.reset(token)


@dataclass(slots=True)
class Outcome:
    """What became of a call run by `run_bounded`."""

    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    abandoned: bool = False  # it ignored cancellation and is still running, shielded


async def run_bounded(call: Callable[[], Awaitable[Any]], limit_s: float) -> Outcome:
    """Await `call()` for at most `limit_s` seconds; a call that ignores cancellation is left.

    Inside `tool_host`, the call runs in the host's task group under two cancel scopes: the outer
    one is cancelled at the limit (or when the caller is cancelled); if the call has not ended
    `ABANDON_GRACE_S` later (it swallows cancellation), the inner one is shielded, which stops
    anyio from delivering the cancellation again and again (a busy loop), and the caller goes on.
    The call keeps running in the host's group until it ends on its own. Without a host, it is
    awaited under `move_on_after` in the caller's task.

    Raises:
        Cancellation: When the caller is cancelled (after the call stopped or was left).
    """
    host = _TOOL_HOST.get()
    outcome = Outcome()
    if host is None:
        with anyio.move_on_after(limit_s) as scope:
            outcome.value = await call()
        outcome.timed_out = scope.cancelled_caught
        return outcome

    done = anyio.Event()
    outer = anyio.CancelScope()
    guard = anyio.CancelScope()

    async def worker() -> None:
        try:
            with outer, guard:
                outcome.value = await call()
        except anyio.get_cancelled_exc_class():
            raise  # the host is closing
        except BaseException as exc:  # handed to the caller, raised there (KeyboardInterrupt too)
            outcome.error = exc
        finally:
            done.set()

    async def stop() -> None:
        outer.cancel()
        with anyio.move_on_after(ABANDON_GRACE_S, shield=True):
            await done.wait()
        if not done.is_set():
            guard.shield = True
            outcome.abandoned = True

    host.start_soon(worker)
    try:
        with anyio.move_on_after(limit_s):
            await done.wait()
    except anyio.get_cancelled_exc_class():
        await stop()
        raise
    if not done.is_set():
        outcome.timed_out = True
        await stop()
    return outcome
