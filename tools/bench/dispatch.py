"""Measurement 3: streaming dispatch, from a call's arguments completing to its tool starting.

The server streams `set_light` (arguments complete in the first fragments), then a second call
whose arguments keep streaming for about 500 ms. "Complete" is the moment the client's transport
received the chunk that finishes `set_light`'s arguments (timestamped by `Recorder`); "started"
is the first line of the tool's body. Both are `time.perf_counter()` in this process.
"""

from __future__ import annotations

import time
from typing import Literal

import anyio
from common import MODEL, Row, median, ms, p95, recording_client, server_process

_started: list[float] = []


async def set_light(room: Literal["kitchen", "bedroom"], on: bool) -> str:
    """Switch a light on or off.

    Args:
        room: Which room's light.
        on: True to switch on.
    """
    _started.append(time.perf_counter())
    return "done"


async def note(text: str) -> str:
    """Write a note.

    Args:
        text: The note.
    """
    return "noted"


async def measure(repeats: int) -> list[float]:
    """Return the dispatch delays of `repeats` turns (after 2 warm-up turns)."""
    from voxagent import Agent

    delays: list[float] = []
    with server_process("dispatch") as base_url:
        for number in range(repeats + 2):
            client, recorder = recording_client()
            async with client:
                agent = Agent(
                    model=MODEL, base_url=base_url, tools=[set_light, note], http_client=client
                )
                async with agent:
                    _started.clear()
                    recorder.received.clear()
                    sent_at = time.perf_counter()
                    await agent.ask(text="Switch on the kitchen light and take a note.")
            # The chunk that completes set_light's arguments carries "kitchen" (one fragment).
            completed = next(t for t, chunk in recorder.received if b"kitchen" in chunk)
            stream_end = max(t for t, chunk in recorder.received if b"xxxxxxxx" in chunk)
            assert completed > sent_at and _started, "no dispatch observed"
            if number >= 2:
                delays.append(_started[0] - completed)
                assert stream_end - completed > 0.3, "the stream did not continue after the call"
    return delays


def rows(delays: list[float]) -> list[Row]:
    """The table row for measurement 3."""
    value = median(delays)
    return [
        Row(
            3,
            "Streaming dispatch: arguments complete -> tool starts (stream goes on ~500 ms)",
            f"median **{ms(value)}**, p95 {ms(p95(delays))}, n={len(delays)}",
            "<= 2 ms median",
            value <= 0.002,
        )
    ]


if __name__ == "__main__":
    print(rows(anyio.run(measure, 5)))
