"""Small async helpers: the one exception a task group's failure shows, closing any stream."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

import anyio

__all__ = ["closing_stream", "unwrap_group"]

T = TypeVar("T")


def unwrap_group(exc: BaseException) -> BaseException:
    """The one exception a user should see from a task group's failure.

    Tool tasks only ever raise cancellation or what a tool let through on purpose
    (KeyboardInterrupt, SystemExit); the group around them is an implementation detail.
    """
    if not isinstance(exc, BaseExceptionGroup):
        return exc
    leaves: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)
        else:
            leaves.append(item)
    cancelled = anyio.get_cancelled_exc_class()
    for kind in (KeyboardInterrupt, SystemExit):
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    others = [leaf for leaf in leaves if not isinstance(leaf, cancelled)]
    return others[0] if others else leaves[0] if leaves else exc


@contextlib.asynccontextmanager
async def closing_stream(stream: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close a stream however the block ends: a stream left early (an error, a cancellation)
    frees its connection at once. A plug-in model's stream may be a plain async iterator
    without `aclose`; it is then left to the garbage collector."""
    try:
        yield stream
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
