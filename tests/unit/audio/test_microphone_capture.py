"""The PortAudio-callback bridge counts every lost block, the driver's own overflows included."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from voxagent.audio.microphone import _Capture

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_an_input_overflow_reported_by_portaudio_counts_as_a_lost_block() -> None:
    capture = _Capture(queue_frames=4)
    block = np.zeros((320, 1), dtype=np.float32)
    try:
        capture.callback(block, 320, None, SimpleNamespace(input_overflow=False))
        assert capture.dropped == 0
        capture.callback(block, 320, None, SimpleNamespace(input_overflow=True))
        assert capture.dropped == 1  # the driver lost audio before this block
    finally:
        capture.close()


async def test_a_full_handoff_counts_the_blocks_it_drops() -> None:
    capture = _Capture(queue_frames=2)
    block = np.zeros((320, 1), dtype=np.float32)
    try:
        for _ in range(5):  # nobody reads: two fit, three are dropped
            capture.callback(block, 320, None, None)
        assert capture.dropped == 3
    finally:
        capture.close()
