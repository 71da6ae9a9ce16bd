"""Shared fixtures for the realtime transcription tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import anyio
import numpy as np
import pytest


@pytest.fixture
def anyio_backend() -> str:
    # websockets runs on asyncio only.
    return "asyncio"


async def _tone(
    seconds: float, *, frame_ms: int = 20, pace: bool = False
) -> AsyncIterator[np.ndarray]:
    """Yield `seconds` of a quiet 440 Hz tone as float32 frames at 16 kHz (paced if asked)."""
    n = 16_000 * frame_ms // 1000
    total = round(seconds * 1000 / frame_ms)
    t = np.arange(n, dtype=np.float32) / 16_000
    for i in range(total):
        yield (0.1 * np.sin(2 * np.pi * 440 * (t + i * n / 16_000))).astype(np.float32)
        if pace:
            await anyio.sleep(frame_ms / 1000)


Tone = Callable[..., AsyncIterator[np.ndarray]]


@pytest.fixture
def tone() -> Tone:
    """The `_tone` frame generator: `tone(seconds, frame_ms=20, pace=False)`."""
    return _tone
