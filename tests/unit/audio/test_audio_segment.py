"""`segment`/`utterances` over real sources: events, overflow, push-to-talk, barge-in flag."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from types import ModuleType

import anyio
import numpy as np
import pytest

from voxagent.audio import (
    ArraySource,
    EndpointerSettings,
    Frame,
    PushToTalk,
    Utterance,
    segment,
    utterances,
)
from voxagent.events import AudioOverflow, SpeechStarted

pytestmark = pytest.mark.anyio
RATE = 16000


def bursts(spans: list[tuple[float, float]], total: float, seed: int = 0) -> np.ndarray:
    """Quiet noise with loud harmonic bursts (speech stand-ins) over the given spans."""
    rng = np.random.default_rng(seed)
    audio = (0.001 * rng.standard_normal(int(total * RATE))).astype(np.float32)
    for start, end in spans:
        t = np.arange(int((end - start) * RATE)) / RATE
        voice = sum(np.sin(2 * np.pi * f * t) for f in (220, 440, 880, 1760)) * 0.08
        audio[int(start * RATE) : int(start * RATE) + t.size] += voice.astype(np.float32)
    return audio


async def test_two_bursts_give_two_starts_and_two_utterances() -> None:
    audio = bursts([(0.5, 1.5), (2.5, 3.2)], 4.5)
    events = [e async for e in segment(ArraySource(audio, RATE))]
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "SpeechStarted",
        "VoicePause",
        "Utterance",
        "SpeechStarted",
        "VoicePause",
        "Utterance",
    ]
    first, second = events[2], events[5]
    assert isinstance(first, Utterance) and isinstance(second, Utterance)
    assert (first.start, first.end) == pytest.approx((0.5, 1.5), abs=0.03)
    assert (second.start, second.end) == pytest.approx((2.5, 3.2), abs=0.03)
    only = [u async for u in utterances(ArraySource(audio, RATE))]
    expected = [(first.start, first.end), (second.start, second.end)]
    assert [(u.start, u.end) for u in only] == expected


async def test_each_scorer_finds_synthesized_speech(speech: ModuleType) -> None:
    audio, start, end = speech.padded(speech.synthesize("Turn on the kitchen light."), 0.8, 1.2)
    for name in ("energy", "webrtc", "silero"):
        found = [u async for u in utterances(ArraySource(audio, RATE), scorer=name)]
        assert len(found) == 1, name
        assert found[0].start == pytest.approx(start, abs=0.15), name
        assert found[0].end == pytest.approx(end, abs=0.25), name


async def test_busy_flag_marks_barge_in() -> None:
    audio = bursts([(0.5, 1.5)], 2.5)
    events = [e async for e in segment(ArraySource(audio, RATE), busy=lambda: True)]
    starts = [e for e in events if isinstance(e, SpeechStarted)]
    assert len(starts) == 1 and starts[0].while_busy


class DroppingSource:
    """A source whose frames report capture overflow (as Microphone does)."""

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[Frame]:
        for i in range(10):
            yield Frame(np.zeros(320, dtype=np.float32), i * 0.02, dropped=3 if i in (2, 5) else 0)


async def test_overflow_is_reported_with_running_total() -> None:
    events = [e async for e in segment(DroppingSource())]
    assert events == [AudioOverflow(3, 3), AudioOverflow(3, 6)]


async def test_push_to_talk_button_bypasses_vad() -> None:
    button = PushToTalk()
    silence = np.zeros(RATE * 2, dtype=np.float32)  # the VAD would find nothing here

    class Pressing:
        def __aiter__(self) -> AsyncIterator[Frame]:
            return self._gen()

        async def _gen(self) -> AsyncIterator[Frame]:
            async for frame in ArraySource(silence, RATE):
                if frame.start == pytest.approx(0.5):
                    button.press()
                if frame.start == pytest.approx(1.0):
                    button.release()
                yield frame

    events = [e async for e in segment(Pressing(), push_to_talk=button)]
    assert [type(e).__name__ for e in events] == ["SpeechStarted", "Utterance"]
    utterance = events[1]
    assert isinstance(utterance, Utterance)
    assert (utterance.start, utterance.end) == pytest.approx((0.5, 1.0))


async def test_push_to_talk_event_ends_one_utterance() -> None:
    done = anyio.Event()
    audio = np.zeros(RATE * 3, dtype=np.float32)

    class SetsAfterOneSecond:
        def __aiter__(self) -> AsyncIterator[Frame]:
            return self._gen()

        async def _gen(self) -> AsyncIterator[Frame]:
            async for frame in ArraySource(audio, RATE):
                if frame.start >= 1.0:
                    done.set()
                yield frame

    found = [u async for u in utterances(SetsAfterOneSecond(), push_to_talk=done)]
    assert len(found) == 1
    assert (found[0].start, found[0].end) == pytest.approx((0.0, 1.0))


async def test_max_length_split_reports_a_new_start() -> None:
    audio = bursts([(0.2, 3.0)], 3.8)
    settings = EndpointerSettings(max_utterance_s=2.0, split_search_s=0.5, pause_s=None)
    events = [e async for e in segment(ArraySource(audio, RATE), settings=settings)]
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["SpeechStarted", "Utterance", "SpeechStarted", "Utterance"]
    first, restart = events[1], events[2]
    assert isinstance(first, Utterance) and isinstance(restart, SpeechStarted)
    assert restart.at == pytest.approx(first.end)
    assert 1.9 <= first.end <= 2.0  # uniform loudness: split as late as the limit allows


def test_import_voxagent_audio_does_not_load_numpy_or_sounddevice() -> None:
    code = (
        "import sys, voxagent, voxagent.audio; "
        "bad = [m for m in ('numpy', 'sounddevice', 'soundfile') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
