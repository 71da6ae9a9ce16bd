"""`segment` and `utterances`: from any audio source to finished utterances and speech events."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import AsyncIterator, Callable
from typing import Literal

import anyio
import numpy as np

from voxagent.audio.convert import SAMPLE_RATE
from voxagent.audio.endpointing import (
    Endpointer,
    EndpointerSettings,
    Utterance,
    VoiceEnd,
    VoicePause,
    VoiceResume,
)
from voxagent.audio.sources import AudioSource, Frame
from voxagent.audio.turn_detector import TurnDetector, TurnPolicy, default_detector
from voxagent.audio.vad import Scorer, make_scorer
from voxagent.errors import AudioError, ConfigurationError
from voxagent.events import AudioOverflow, SpeechStarted

__all__ = [
    "DEFAULT_TURN_VAD",
    "DEFAULT_VAD",
    "PushToTalk",
    "SegmentEvent",
    "describe_detector",
    "resolve_detector",
    "segment",
    "utterances",
]

DEFAULT_VAD = "energy"
"""The scorer used when none is given and no turn detector is active; chosen by measurement on
real speech (tools/bench_turn_taking.py, see docs/audio.md)."""

DEFAULT_TURN_VAD = "energy"
"""The scorer used under a turn detector when none is given (same measurement)."""

DetectorChoice = TurnDetector | Literal["auto"] | None

SegmentEvent = SpeechStarted | Utterance | AudioOverflow | VoicePause | VoiceResume


class PushToTalk:
    """A talk button: speech is whatever is captured while it is pressed (the VAD is bypassed).

    `press()` and `release()` are safe to call from any thread (a keyboard listener, a GUI).
    """

    def __init__(self) -> None:
        self._pressed = threading.Event()

    def press(self) -> None:
        """Start talking."""
        self._pressed.set()

    def release(self) -> None:
        """Stop talking: the utterance ends at the next frame."""
        self._pressed.clear()

    @property
    def pressed(self) -> bool:
        """Whether the button is held now."""
        return self._pressed.is_set()


async def segment(
    source: AudioSource,
    *,
    settings: EndpointerSettings | None = None,
    scorer: Scorer | str | None = None,
    push_to_talk: anyio.Event | PushToTalk | None = None,
    busy: Callable[[], bool] | None = None,
    detector: DetectorChoice = "auto",
    policy: TurnPolicy | None = None,
) -> AsyncIterator[SegmentEvent]:
    """Turn a source's frames into speech events and utterances.

    Yields `SpeechStarted` when speech begins (also while the agent is busy, for barge-in),
    `Utterance` when it ends, and `AudioOverflow` when the source dropped frames. A source that
    ends mid-utterance yields that utterance. With the VAD, a candidate end comes first as
    `VoicePause` (and `VoiceResume` when speech comes back before the end is decided); see
    `voxagent.audio.endpointing` for the pause contract.

    Args:
        source: Any `AudioSource` (Microphone, AudioFile, ArraySource, PCMSource...).
        settings: Endpointer settings; defaults otherwise.
        scorer: A scorer instance, a name ("energy", "webrtc", "silero") or a factory; a fresh
            `DEFAULT_VAD` scorer when None.
        push_to_talk: Bypass the VAD. With a `PushToTalk`, each press-to-release span is one
            utterance. With an `anyio.Event`, everything from the first frame until the event is
            set is one utterance, and the generator stops after it (one event per turn).
        busy: Called on speech start; its result fills `SpeechStarted.while_busy`.
        detector: Who decides the end of a turn: "auto" (Smart Turn when the `turn` extra and
            its model are found, see `voxagent.audio.turn_detector`; else silence), a
            `TurnDetector`, or None (silence alone: `settings.end_silence_s`).
        policy: When the detector is asked and what ends the turn (`TurnPolicy()` defaults).
    """
    total_dropped = 0
    if push_to_talk is not None:
        events = _push_to_talk(source, push_to_talk, busy)
    else:
        active = resolve_detector(detector)
        default_scorer = DEFAULT_VAD if active is None else DEFAULT_TURN_VAD
        endpointer = Endpointer(
            settings or EndpointerSettings(),
            make_scorer(scorer, default_scorer),
            detector=active,
            policy=policy or TurnPolicy(),
        )
        events = _vad(source, endpointer, busy)
    async for item in events:
        if isinstance(item, Frame):
            total_dropped += item.dropped
            yield AudioOverflow(item.dropped, total_dropped)
        else:
            yield item


async def utterances(
    source: AudioSource,
    *,
    settings: EndpointerSettings | None = None,
    scorer: Scorer | str | None = None,
    push_to_talk: anyio.Event | PushToTalk | None = None,
    detector: DetectorChoice = "auto",
    policy: TurnPolicy | None = None,
) -> AsyncIterator[Utterance]:
    """Yield only the utterances of `segment` (same arguments)."""
    events = segment(
        source,
        settings=settings,
        scorer=scorer,
        push_to_talk=push_to_talk,
        detector=detector,
        policy=policy,
    )
    async for event in events:
        if isinstance(event, Utterance):
            yield event


def resolve_detector(detector: DetectorChoice) -> TurnDetector | None:
    """The detector `segment()` will use: "auto" finds Smart Turn (or None), others pass."""
    if isinstance(detector, str):
        if detector != "auto":
            raise ConfigurationError(
                f"unknown turn detector {detector!r}",
                hint='pass "auto", None, or an object with probability_complete(samples)',
            )
        return default_detector()
    if detector is not None and not isinstance(detector, TurnDetector):
        raise ConfigurationError(
            f"{detector!r} is not a turn detector",
            hint="it needs a method probability_complete(samples) -> float",
        )
    return detector


async def _vad(
    source: AudioSource, endpointer: Endpointer, busy: Callable[[], bool] | None
) -> AsyncIterator[SpeechStarted | Utterance | Frame | VoicePause | VoiceResume]:
    async for frame in source:
        if frame.dropped:
            yield frame  # reported as AudioOverflow by segment()
        if endpointer.wants_detector(frame):
            # The model takes tens of ms: a worker thread keeps capture and the agent running.
            result = await anyio.to_thread.run_sync(endpointer.feed, frame)
        else:
            result = endpointer.feed(frame)
        if result is None:
            continue
        if isinstance(result, VoicePause | VoiceResume):
            yield result
        elif isinstance(result, VoiceEnd):
            yield result.utterance
            if result.reason == "max_length":
                yield SpeechStarted(result.utterance.end, bool(busy and busy()))
        else:
            yield SpeechStarted(result.at, bool(busy and busy()))
    final = endpointer.flush()
    if final is not None:
        yield final.utterance


async def _push_to_talk(
    source: AudioSource, button: anyio.Event | PushToTalk, busy: Callable[[], bool] | None
) -> AsyncIterator[SpeechStarted | Utterance | Frame | VoicePause | VoiceResume]:
    one_shot = isinstance(button, anyio.Event)
    frames: list[Frame] = []
    async for frame in source:
        if frame.dropped:
            yield frame
        talking = not button.is_set() if isinstance(button, anyio.Event) else button.pressed
        if talking:
            if not frames:
                yield SpeechStarted(frame.start, bool(busy and busy()))
            frames.append(frame)
        elif frames:
            yield _joined(frames, detected_at=frame.start)
            frames = []
            if one_shot:
                return
    if frames:
        yield _joined(frames, detected_at=frames[-1].end)


def _joined(frames: list[Frame], detected_at: float) -> Utterance:
    samples = np.concatenate([f.samples for f in frames])
    return Utterance(
        samples, SAMPLE_RATE, frames[0].start, frames[-1].end, frames[0].start, detected_at
    )


def describe_detector() -> tuple[bool, str, str | None]:
    """What `segment()` will use to end turns, for `voxagent doctor`: (ok, detail, hint).

    Not ok only when `$VOXAGENT_TURN_MODEL` names a file that cannot be used.
    """
    try:
        detector = default_detector()
    except AudioError as exc:
        return False, exc.message, exc.hint
    if detector is None:
        missing = "onnxruntime" if importlib.util.find_spec("onnxruntime") is None else "model"
        return (
            True,
            f"none ({missing} not found): silence decides ({DEFAULT_VAD} VAD)",
            None,
        )
    return True, f"Smart Turn {detector.path} behind the {DEFAULT_TURN_VAD} VAD", None
