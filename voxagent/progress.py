"""Elapsed-time progress on stderr for the commands people wait on (serve, transcribe).

On a terminal, one line rewritten every second ("transcribing 95 s of audio... 12 s"); elsewhere
nothing, unless asked for (then one line every 10 s, fit for a log). Never on stdout: that is for
results and `--events jsonl`.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

import anyio

from voxagent.clock import Clock, Sleep
from voxagent.text import printable

__all__ = ["progress"]


@asynccontextmanager
async def progress(
    label: str,
    *,
    stream: TextIO | None = None,
    force: bool = False,
    clock: Clock = anyio.current_time,
    sleep: Sleep = anyio.sleep,
) -> AsyncIterator[None]:
    """Show how long the block has been running, while it runs.

    Args:
        label: What is being waited for ("starting vLLM").
        stream: Where to write (default: sys.stderr at call time).
        force: Show it even when the stream is not a terminal (one line every 10 s).
        clock: Seconds, monotonic (injected in tests).
        sleep: Waits that many seconds (injected in tests).
    """
    out = stream if stream is not None else sys.stderr
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not (tty or force):
        yield
        return
    text = printable(label)
    started = clock()
    width = 0

    def write(line: str) -> None:
        try:
            out.write(line)
            out.flush()
        except (OSError, ValueError):  # closed: nobody is watching any more
            pass

    async def tick() -> None:
        nonlocal width
        while True:
            await sleep(1.0 if tty else 10.0)
            shown = f"{text}... {clock() - started:.0f} s"
            if tty:
                write("\r" + shown.ljust(width))
                width = len(shown)
            else:
                write(shown + "\n")

    async with anyio.create_task_group() as tg:
        tg.start_soon(tick)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()
            if tty and width:
                write("\r" + " " * width + "\r")
