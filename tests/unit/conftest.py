"""Shared unit-test fixtures: anyio on asyncio, a fake sleep, a tiny WAV clip."""

from __future__ import annotations

import io
import wave

import pytest

from voxagent.audio.clip import AudioClip


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeSleep:
    """Records requested delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


def make_clip(seconds: float = 0.5) -> AudioClip:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x01\x00" * int(16000 * seconds))
    return AudioClip(buffer.getvalue(), "wav", seconds)


@pytest.fixture
def clip() -> AudioClip:
    return make_clip()
