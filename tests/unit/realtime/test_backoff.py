"""The realtime transcriber's waits between attempts, and its auth header: shared with the client.

The schedule is pinned: `reconnect_delay` (0.2 s), doubled per attempt, at most 2 s, no jitter,
for a failed open and for a dropped socket alike.
"""

from __future__ import annotations

import io
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from voxagent.client.auth import bearer_headers
from voxagent.client.dialects import MISTRAL, VLLM
from voxagent.client.retry import RetryPolicy
from voxagent.errors import ServerUnavailableError
from voxagent.events import TranscriptDelta, TranscriptFinal
from voxagent.realtime.connector import reconnect_policy
from voxagent.realtime.transcriber import RealtimeTranscriber, print_live_captions
from voxagent.testing.realtime_server import RealtimeTestServer

pytestmark = pytest.mark.anyio


class Waits:
    """A fake sleep that records what it was asked to wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def test_a_failed_open_waits_0_2_0_4_0_8_then_gives_up() -> None:
    opened: list[dict[str, str]] = []

    async def refuse(url: str, *, additional_headers: dict[str, str], **_: Any) -> Any:
        opened.append(additional_headers)
        raise OSError("connection refused")

    waits = Waits()
    rt = RealtimeTranscriber("http://127.0.0.1:9/v1", "m", connect=refuse, sleep=waits)
    with pytest.raises(ServerUnavailableError, match="cannot open realtime websocket"):
        async with rt:
            pass
    assert waits.delays == [0.2, 0.4, 0.8]  # max_reconnects=3: four tries, three waits
    assert len(opened) == 4
    assert opened[0] == {}  # no key, no Authorization header


async def test_waits_are_capped_at_two_seconds_and_survive_thousands_of_attempts() -> None:
    async def refuse(url: str, **_: Any) -> Any:
        raise OSError("connection refused")

    waits = Waits()
    rt = RealtimeTranscriber(
        "http://127.0.0.1:9/v1", "m", connect=refuse, sleep=waits, max_reconnects=1100
    )
    with pytest.raises(ServerUnavailableError):
        async with rt:
            pass
    assert waits.delays[:5] == [0.2, 0.4, 0.8, 1.6, 2.0]
    assert len(waits.delays) == 1100 and set(waits.delays[4:]) == {2.0}


async def test_a_dropped_socket_waits_on_the_same_schedule(tone: Any) -> None:
    waits = Waits()
    async with RealtimeTestServer(close_after_bytes=3_000, closes=99) as server:
        async with RealtimeTranscriber(
            server.base_url, server.model, max_reconnects=2, reconnect_delay=0.5, sleep=waits
        ) as rt:
            with pytest.raises(ServerUnavailableError, match="dropped 3 times"):
                await rt.transcribe_text(tone(0.5))
    assert waits.delays == [0.5, 1.0]


def test_the_reconnect_policy_is_a_retry_policy_without_jitter() -> None:
    policy = reconnect_policy(3, 0.2)
    assert policy == RetryPolicy(max_attempts=4, base_delay=0.2, max_delay=2.0, jitter=False)
    assert [policy.delay(n) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.6, 2.0]
    # negative values behave as they always did: no reconnect, no wait
    assert reconnect_policy(-1, -0.5) == reconnect_policy(0, 0.0)


async def test_the_bearer_header_is_the_clients(tone: Any) -> None:
    sent: list[dict[str, str]] = []

    async def refuse(url: str, *, additional_headers: dict[str, str], **_: Any) -> Any:
        sent.append(additional_headers)
        raise OSError("connection refused")

    rt = RealtimeTranscriber(
        "http://127.0.0.1:9/v1", "m", api_key="sk-test-1234", connect=refuse, max_reconnects=0
    )
    with pytest.raises(ServerUnavailableError):
        async with rt:
            pass
    assert sent == [bearer_headers("sk-test-1234")] == [VLLM.headers("sk-test-1234")]
    assert sent[0] == {"Authorization": "Bearer sk-test-1234"} == MISTRAL.headers("sk-test-1234")


async def _no_audio() -> AsyncIterator[bytes]:
    return
    yield b""


class _Scripted:
    """A live transcriber that yields a fixed utterance (for the captions printer)."""

    async def __aenter__(self) -> _Scripted:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def transcribe(self, source: Any) -> AsyncIterator[TranscriptDelta | TranscriptFinal]:
        yield TranscriptDelta("Hello")
        yield TranscriptDelta(" world")
        yield TranscriptFinal("Hello world")


async def test_captions_go_to_the_stdout_of_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not the stdout of the import: a test's captured stream may be closed by now."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", first)
    assert await print_live_captions(_no_audio(), _Scripted()) == "Hello world"
    first.close()  # what pytest does to a finished test's captured stdout
    monkeypatch.setattr(sys, "stdout", second)
    assert await print_live_captions(_no_audio(), _Scripted()) == "Hello world"
    assert second.getvalue() == "Hello world\n"
