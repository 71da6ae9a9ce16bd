"""Measurements 4 and 5: endpointing latency (paced file -> request) and audio pipeline CPU cost.

4. A file with utterances of known end is played in real time (`AudioFile(realtime=True)`) into
   `agent.listen` with the default VAD; for each utterance, latency = the moment its chat request
   left the client (timestamped in the transport) - the moment the true end of speech was played
   (the arrival of the frame holding it, less the audio after it in that frame).
5. A 10-minute 44.1 kHz file through resampling to 16 kHz, the default VAD and WAV encoding of
   every utterance; process CPU seconds (all threads) per second of audio.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from common import MODEL, WORK, Row, median, ms, p95, recording_client, server_process, speech_like

SPEECH_S, GAP_S, LEAD_S = 1.6, 1.4, 0.6


def _quiet(seconds: float, rate: int, seed: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    return (0.002 * rng.standard_normal(int(seconds * rate))).astype(np.float32)


def utterance_file(count: int, rate: int = 16000) -> tuple[Path, list[float]]:
    """A WAV of `count` utterances; returns it and the true speech ends (seconds)."""
    import soundfile as sf

    path = WORK / f"utterances_{count}_{rate}.wav"
    parts, ends, at = [_quiet(LEAD_S, rate, 0)], [], LEAD_S
    for number in range(count):
        parts += [speech_like(SPEECH_S, rate, seed=number), _quiet(GAP_S, rate, number + 1)]
        ends.append(at + SPEECH_S)
        at += SPEECH_S + GAP_S
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.concatenate(parts), rate, subtype="PCM_16")
    return path, ends


class _Watched:
    """A source wrapper noting when each frame arrived (perf_counter) and its stream end."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.arrivals: list[tuple[float, float]] = []

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for frame in self.source:
            self.arrivals.append((time.perf_counter(), frame.end))
            yield frame

    def played_at(self, stream_time: float) -> float:
        arrived, end = next((a, e) for a, e in self.arrivals if e >= stream_time)
        return arrived - (end - stream_time)


async def measure_endpointing(count: int) -> tuple[list[float], float]:
    """Latencies (seconds) of `count` utterances, and the end-silence setting."""
    from voxagent import Agent
    from voxagent.audio import AudioFile, EndpointerSettings
    from voxagent.events import TurnCompleted

    path, ends = utterance_file(count)
    source = _Watched(AudioFile(path, realtime=True))
    with server_process("text") as base_url:
        client, recorder = recording_client()
        async with client:
            agent = Agent(model=MODEL, base_url=base_url, http_client=client)
            async with agent:
                turns = [e async for e in agent.listen(source) if isinstance(e, TurnCompleted)]
    sent = [t for t, path_, _ in recorder.sent if path_.endswith("/chat/completions")]
    assert len(sent) == len(ends) == len(turns), (len(sent), len(ends), len(turns))
    latencies = [t - source.played_at(end) for t, end in zip(sent, ends, strict=True)]
    return latencies, EndpointerSettings().end_silence_s


def endpointing_rows(latencies: list[float], end_silence: float) -> list[Row]:
    """The table row for measurement 4."""
    value = median(latencies)
    return [
        Row(
            4,
            "Endpointing: true end of speech (paced file) -> request leaves the client",
            f"median **{ms(value)}**, p95 {ms(p95(latencies))}, n={len(latencies)} "
            f"(end_silence_s = {end_silence:g})",
            f"<= end_silence + 30 ms = {ms(end_silence + 0.03)}",
            value <= end_silence + 0.03,
        )
    ]


def long_file(minutes: float, rate: int = 44100) -> Path:
    """A cached `minutes`-long mono file at `rate`: utterances and pauses, written in blocks."""
    import soundfile as sf

    path = WORK / f"long_{minutes:g}min_{rate}.wav"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    block = np.concatenate([speech_like(3.0, rate, seed=1), _quiet(2.0, rate, 2)])
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        for _ in range(int(minutes * 60 / 5)):
            out.write(block)
    return path


async def measure_pipeline(minutes: float) -> tuple[float, int, float]:
    """CPU seconds per audio second, utterances found, audio seconds processed."""
    from voxagent.audio import AudioFile, Utterance, segment

    path = long_file(minutes)
    source = AudioFile(path)
    found = 0
    cpu = time.process_time()
    async for item in segment(source):
        if isinstance(item, Utterance):
            clip = item.to_clip()
            assert clip.format == "wav"
            found += 1
    used = time.process_time() - cpu
    return used / source.duration, found, source.duration


def pipeline_rows(per_second: float, found: int, seconds: float) -> list[Row]:
    """The table row for measurement 5."""
    return [
        Row(
            5,
            "Audio pipeline: 44.1 kHz file -> resample + default VAD + WAV encoding",
            f"**{per_second:.4f}** CPU s per audio s over {seconds / 60:.0f} min "
            f"({found} utterances)",
            "<= 0.01",
            per_second <= 0.01,
        )
    ]


if __name__ == "__main__":
    print(endpointing_rows(*anyio.run(measure_endpointing, 3)))
    print(pipeline_rows(*anyio.run(measure_pipeline, 1.0)))
