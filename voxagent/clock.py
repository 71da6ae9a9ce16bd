"""Time as voxagent takes it: one seam, a function that returns seconds.

A `Clock` is `() -> float`: monotonic seconds, `anyio.current_time` (the event loop's clock) by
default. Whatever measures time takes `clock: Clock` (the agent and its turns, the HTTP client and
its admission, the realtime transcriber, progress notices, audio sources paced in real time);
whatever also waits takes `sleep: Sleep` next to it (`anyio.sleep` by default) and waits with it
(`sleep_until`), so that a test injects one fake pair and nothing really sleeps:

    class FakeTime:
        def __init__(self) -> None:
            self.now = 0.0

        def clock(self) -> float:
            return self.now

        async def sleep(self, seconds: float) -> None:
            self.now += seconds

    source = ArraySource(samples, 16000, realtime=True, clock=fake.clock, sleep=fake.sleep)

One clock is not monotonic: `Conversation(clock=...)` stamps each turn's `created_at` in wall-clock
seconds (`time.time`), because those stamps are saved and must still mean something after a
restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

__all__ = ["Clock", "Sleep", "sleep_until"]

Clock: TypeAlias = Callable[[], float]
"""Returns the current time in seconds (monotonic); `anyio.current_time` by default."""

Sleep: TypeAlias = Callable[[float], Awaitable[Any]]
"""Waits that many seconds (and yields to the event loop even for 0); `anyio.sleep` by default."""


async def sleep_until(deadline: float, clock: Clock, sleep: Sleep) -> None:
    """Wait with `sleep` until `clock()` reaches `deadline` (only a checkpoint when it has).

    Args:
        deadline: The time to wait for, on `clock`'s scale.
        clock: The clock the deadline was computed with.
        sleep: Waits; injected together with `clock`.
    """
    await sleep(max(0.0, deadline - clock()))
