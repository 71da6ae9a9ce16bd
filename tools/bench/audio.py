"""Measurements 4 and 5: endpointing latency (paced file -> request) and audio pipeline CPU cost.

4. A file with utterances of known end is played in real time (`AudioFile(realtime=True)`) into
   `agent.listen` with the default VAD, once with `speculate=False` and once with the default
   speculation; for each utterance, latency = the moment its first chat request after the end
   left the client (timestamped in the transport) - the moment the true end of speech was played
   (the arrival of the frame holding it, less the audio after it in that frame); likewise for the
   moment the scripted `set_light` call started (its `ToolCallStarted` reached the consumer).
5. A 10-minute 44.1 kHz file through resampling to 16 kHz, the default VAD and WAV encoding of
   every utterance; process CPU seconds (all threads) per second of audio.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from common import MODEL, WORK, Row, median, ms, p95, recording_client, server_process, speech_like

from voxagent import VoiceSettings

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


@dataclass
class Endpointed:
    """Measurement 4 for one setting: per utterance, seconds after the true end of speech."""

    request: list[float]  # the first chat request that left after the end was played
    tool: list[float]  # the tool started (ToolCallStarted reached the consumer)
    speculated: int  # speculative requests started
    discarded: int  # ... and thrown away (the user "spoke on")


async def _endpointed(path: Path, ends: list[float], speculate: bool) -> Endpointed:
    from voxagent import Agent, tool
    from voxagent.audio import AudioFile
    from voxagent.events import SpeculationDiscarded, SpeculationStarted, ToolCallStarted

    @tool
    def set_light(room: str, on: bool) -> str:
        """Switch a light.

        Args:
            room: Which room.
            on: On or off.
        """
        return "ok"

    source = _Watched(AudioFile(path, realtime=True))
    tools_at: list[float] = []
    counts = {"started": 0, "discarded": 0}
    with server_process("turn") as base_url:
        client, recorder = recording_client()
        async with client:
            agent = Agent(
                model=MODEL,
                base_url=base_url,
                http_client=client,
                tools=[set_light],
                voice=VoiceSettings(
                    speculate=speculate,
                    # Silence decides: these bursts are speech-like, not speech, so a turn model's
                    # answer on them means nothing (it is measured on real speech by
                    # tools/bench_turn_taking.py).
                    turn_detector=None,
                ),
            )
            async with agent:
                async for event in agent.listen(source):
                    if isinstance(event, ToolCallStarted):
                        tools_at.append(time.perf_counter())
                    elif isinstance(event, SpeculationStarted):
                        counts["started"] += 1
                    elif isinstance(event, SpeculationDiscarded):
                        counts["discarded"] += 1
    sent = sorted(t for t, path_, _ in recorder.sent if path_.endswith("/chat/completions"))
    played = [source.played_at(end) for end in ends]
    request = [next(t for t in sent if t >= at) - at for at in played]
    tool_lags = [next(t for t in tools_at if t >= at) - at for at in played]
    assert len(tools_at) == len(ends), (len(tools_at), len(ends))
    return Endpointed(request, tool_lags, counts["started"], counts["discarded"])


async def measure_endpointing(count: int) -> tuple[Endpointed, Endpointed, float]:
    """Measurement 4 without and with speculation (one after the other, same file)."""
    from voxagent.audio import EndpointerSettings

    path, ends = utterance_file(count)
    plain = await _endpointed(path, ends, speculate=False)
    speculative = await _endpointed(path, ends, speculate=True)
    return plain, speculative, EndpointerSettings().end_silence_s


def endpointing_rows(plain: Endpointed, speculative: Endpointed, end_silence: float) -> list[Row]:
    """The table rows for measurement 4."""
    value = median(plain.request)
    wasted = speculative.discarded / speculative.speculated if speculative.speculated else 0.0
    return [
        Row(
            4,
            "Endpointing: true end of speech (paced file) -> request leaves the client",
            f"median **{ms(value)}**, p95 {ms(p95(plain.request))}, n={len(plain.request)} "
            f"(end_silence_s = {end_silence:g}, speculate=False); tool starts after "
            f"{ms(median(plain.tool))}",
            f"<= end_silence + 30 ms = {ms(end_silence + 0.03)}",
            value <= end_silence + 0.03,
        ),
        Row(
            4,
            "Speculation: true end of speech -> request leaves (the default, speculate=True)",
            f"median **{ms(median(speculative.request))}**, p95 {ms(p95(speculative.request))};"
            f" tool starts after {ms(median(speculative.tool))} (p95 "
            f"{ms(p95(speculative.tool))}); {speculative.speculated} speculative requests, "
            f"{wasted:.0%} wasted",
            "request median <= 250 ms",
            median(speculative.request) <= 0.25,
        ),
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


async def measure_pipeline(minutes: float, detector: Any = None) -> tuple[float, int, float]:
    """CPU seconds per audio second, utterances found, audio seconds processed.

    `detector=None` measures the VAD pipeline alone; "auto" adds the turn model when the `turn`
    extra is installed (the default of `segment()` then).
    """
    from voxagent.audio import AudioFile, Utterance, segment

    path = long_file(minutes)
    source = AudioFile(path)
    found = 0
    cpu = time.process_time()
    async for item in segment(source, detector=detector):
        if isinstance(item, Utterance):
            clip = item.to_clip()
            assert clip.format == "wav"
            found += 1
    used = time.process_time() - cpu
    return used / source.duration, found, source.duration


def pipeline_rows(
    per_second: float,
    found: int,
    seconds: float,
    with_model: tuple[float, int, float] | None = None,
) -> list[Row]:
    """The table rows for measurement 5 (the VAD pipeline; and with the turn model, if given)."""
    rows = [
        Row(
            5,
            "Audio pipeline: 44.1 kHz file -> resample + default VAD + WAV encoding",
            f"**{per_second:.4f}** CPU s per audio s over {seconds / 60:.0f} min "
            f"({found} utterances)",
            "<= 0.01",
            per_second <= 0.01,
        )
    ]
    if with_model is not None:
        cpu, utterances, _ = with_model
        rows.append(
            Row(
                5,
                "Audio pipeline with the turn model (`segment()`'s default with the `turn` "
                "extra: Smart Turn asked as each pause grows)",
                f"**{cpu:.4f}** CPU s per audio s ({utterances} utterances)",
                "",
                None,
            )
        )
    return rows


if __name__ == "__main__":
    print(endpointing_rows(*anyio.run(measure_endpointing, 3)))
    print(pipeline_rows(*anyio.run(measure_pipeline, 1.0)))
