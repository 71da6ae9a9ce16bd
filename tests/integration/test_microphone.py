"""The real capture path: PulseAudio virtual microphone -> sounddevice -> Microphone -> utterances.

A private PulseAudio daemon (tools/virtual_mic.py) plays a synthesized utterance into a null sink
whose monitor is the default source. `Microphone()` + `utterances()` must find exactly one
utterance whose audio correlates with what was played (offset searched: playback start jitters by
0.5-0.75 s) and whose boundaries are within 150 ms of the truth. With CI=true, failing to start
PulseAudio fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import numpy as np
import pytest

from voxagent.audio import Frame, Microphone, Utterance, utterances
from voxagent.audio.convert import SAMPLE_RATE, encode_wav

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
TOOLS = Path(__file__).resolve().parents[2] / "tools"
TOLERANCE_S = 0.15


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"voxagent_tools_{name}", TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """Passes a source's frames through, keeping a copy (to locate the played audio)."""

    def __init__(self, source: Microphone) -> None:
        self.source = source
        self.frames: list[Frame] = []

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._gen()

    async def _gen(self) -> AsyncIterator[Frame]:
        async for frame in self.source:
            self.frames.append(frame)
            yield frame

    def audio(self) -> np.ndarray:
        """The captured stream, with dropped frames as zeros, indexed by stream time."""
        end = round(self.frames[-1].end * SAMPLE_RATE)
        out = np.zeros(end, dtype=np.float32)
        for frame in self.frames:
            start = round(frame.start * SAMPLE_RATE)
            out[start : start + frame.samples.size] = frame.samples
        return out


def locate(stream: np.ndarray, played: np.ndarray) -> tuple[int, float]:
    """Offset of `played` in `stream` (FFT cross-correlation) and the normalized correlation."""
    n = stream.size + played.size
    size = 1 << (n - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(stream, size) * np.conj(np.fft.rfft(played, size)), size)
    offset = int(np.argmax(corr[: stream.size - played.size + 1]))
    window = stream[offset : offset + played.size].astype(np.float64)
    denominator = np.linalg.norm(window) * np.linalg.norm(played) or 1.0
    return offset, float(np.dot(window, played) / denominator)


@pytest.mark.anyio
async def test_microphone_hears_one_utterance_at_the_right_time(
    virtual_mic: Any, tmp_path: Path
) -> None:
    speech = _tool("speech")
    assert speech.have_espeak(), "espeak-ng is missing: apt-get install espeak-ng"
    voice = speech.synthesize("Turn on the kitchen light in the living room.", "en")
    played, speech_start, speech_end = speech.padded(voice, 0.3, 0.3)
    wav = tmp_path / "played.wav"
    wav.write_bytes(encode_wav(played))
    recorder = Recorder(Microphone(stall_timeout_s=5.0))
    found: list[Utterance] = []

    async def listen() -> None:
        async for utterance in utterances(recorder):
            found.append(utterance)

    async def play() -> None:
        await anyio.sleep(0.5)
        await anyio.to_thread.run_sync(lambda: virtual_mic.play(wav).wait(timeout=30))
        await anyio.sleep(1.5)  # well past end silence: a second utterance would show up
        tg.cancel_scope.cancel()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            tg.start_soon(listen)
            tg.start_soon(play)

    assert len(found) == 1, found
    utterance = found[0]
    offset, correlation = locate(recorder.audio(), played)
    assert correlation > 0.9
    true_start = offset / SAMPLE_RATE + speech_start
    true_end = offset / SAMPLE_RATE + speech_end
    assert abs(utterance.start - true_start) <= TOLERANCE_S, (utterance, true_start)
    assert abs(utterance.end - true_end) <= TOLERANCE_S, (utterance, true_end)
    # The utterance's own audio is the played speech (pre-roll and post-roll included).
    u_offset, u_corr = locate(
        utterance.samples, played[int(speech_start * SAMPLE_RATE) : int(speech_end * SAMPLE_RATE)]
    )
    assert u_corr > 0.9
    assert abs((utterance.audio_start or 0.0) + u_offset / SAMPLE_RATE - true_start) < 0.01
