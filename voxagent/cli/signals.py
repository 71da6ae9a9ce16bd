"""Running a command so that Ctrl-C, SIGTERM and a closed stdout each end it cleanly."""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable

import anyio

from voxagent.cli.exits import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, AppExit
from voxagent.cli.output import err
from voxagent.cli.printer import Printer

__all__ = ["run_with_signals"]


async def run_with_signals(work: Callable[[], Awaitable[int]], printer: Printer) -> int:
    """Run `work`, cancelling it cleanly on SIGINT/SIGTERM (130) or a closed stdout (141)."""
    result = EXIT_INTERRUPTED
    error: BaseException | None = None
    async with anyio.create_task_group() as tg:
        # A closed stdout is noticed inside the agent's callbacks: cancel from there rather than
        # raise through the agent (which would report it as the turn's failure).
        printer.on_closed = tg.cancel_scope.cancel

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    err("interrupted")
                    tg.cancel_scope.cancel()
                    return

        async def run() -> None:
            nonlocal result, error
            try:
                result = await work()
            except Exception as exc:  # re-raised below, outside the task group's exception group
                error = exc
            except SystemExit as exc:  # the app or a tool called sys.exit(): it picks the code
                error = AppExit(exc.code)
            finally:
                tg.cancel_scope.cancel()

        tg.start_soon(watch)
        tg.start_soon(run)
    if printer.closed:
        return EXIT_BROKEN_PIPE  # whatever failed after that was the run being cut short
    if error is not None:
        raise error
    return result
