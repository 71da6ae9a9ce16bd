"""`Admission`: a limit on model requests in flight, shared by every agent of a process.

With hundreds of sessions in one process, sending every request at once helps nobody: the model
server queues them anyway, each waiting request holds its encoded body (audio included) in
memory, and the HTTP pool's bookkeeping grows with the number of connections (httpcore scans
every connection for every request it assigns). An `Admission` lets `max_in_flight` requests
out at a time and queues the rest first come, first served, so a session that asked first is
served first and none can starve another.

    admission = Admission(max_in_flight=64)
    agents = [Agent(..., http_client=shared, admission=admission) for _ in range(500)]

A request holds its slot from before its body is encoded until its answer is read (a stream:
until it ends or is closed). The wait is reported: `ChatResponse.admission_s`, and the turn's
`timings["admission"]` (also in the `TurnCompleted` event).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.lowlevel

from voxagent.clock import Clock
from voxagent.errors import ConfigurationError

__all__ = ["Admission", "admitted"]


class Admission:
    """At most `max_in_flight` model requests at a time; the others wait in arrival order.

    Use one instance per process (or per model server), shared by the agents that should share
    the limit. It is not tied to an event loop until a request waits.

    Args:
        max_in_flight: How many requests may be in flight at once (at least 1).
        clock: Monotonic seconds, used to measure each wait.

    Raises:
        ConfigurationError: `max_in_flight` is below 1.
    """

    def __init__(self, max_in_flight: int = 64, *, clock: Clock = anyio.current_time) -> None:
        if type(max_in_flight) is not int or max_in_flight < 1:
            raise ConfigurationError(
                f"max_in_flight must be an integer of at least 1, not {max_in_flight!r}",
                hint="a few dozen suits one vLLM server; size it to the server's batch",
            )
        self.max_in_flight = max_in_flight
        self._clock = clock
        self._in_flight = 0
        self._waiters: deque[anyio.Event] = deque()
        self.total_wait_s = 0.0
        self.admitted = 0

    @property
    def in_flight(self) -> int:
        """Requests holding a slot now."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Requests queued for a slot now."""
        return len(self._waiters)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold one slot for the block; yields the seconds waited for it.

        Cancelled while waiting, the request leaves the queue (or passes on a slot it was just
        handed), so no slot is ever lost.
        """
        started = self._clock()
        await self._acquire()
        waited = self._clock() - started
        self.total_wait_s += waited
        self.admitted += 1
        try:
            yield waited
        finally:
            self._release()

    async def _acquire(self) -> None:
        if self._in_flight < self.max_in_flight and not self._waiters:
            self._in_flight += 1
            await anyio.lowlevel.checkpoint()  # a checkpoint either way, like any await
            return
        turn = anyio.Event()
        self._waiters.append(turn)
        try:
            await turn.wait()
        except BaseException:
            if turn.is_set():
                self._release()  # handed a slot as the wait was cancelled: pass it on
            else:
                self._waiters.remove(turn)
            raise

    def _release(self) -> None:
        # The slot goes straight to the first waiter (in_flight unchanged), so a newcomer
        # arriving between the release and the waiter's wake-up cannot jump the queue.
        if self._waiters:
            self._waiters.popleft().set()
        else:
            self._in_flight -= 1

    def __repr__(self) -> str:
        return (
            f"Admission(max_in_flight={self.max_in_flight}, in_flight={self._in_flight}, "
            f"waiting={len(self._waiters)})"
        )


@asynccontextmanager
async def admitted(admission: Admission | None) -> AsyncIterator[float | None]:
    """Hold a slot of `admission` for the block; yields the seconds waited (None: no limit)."""
    if admission is None:
        yield None
        return
    async with admission.slot() as waited:
        yield waited
