"""Endpointing: a pure state machine that turns scored frames into utterances.

`Endpointer.feed(frame)` returns `VoiceStart` when speech has lasted `min_speech_s`, `VoiceEnd`
(carrying the `Utterance`) after `end_silence_s` of silence or at `max_utterance_s`, else None.
Between the two it may return `VoicePause` (a candidate end: speech paused and the turn looks
complete, so a reply may be prepared speculatively) and, when speech comes back before the end is
decided, `VoiceResume`. All time comes from the frames' stream time (sample counts), so tests need
no clock. The events are defined in `voxagent.audio.voice_events` (and importable from here).

With a `TurnDetector` (`voxagent.audio.turn_detector`), silence alone no longer ends the turn: after
`TurnPolicy.first_check_s` of silence the detector is asked for P(turn complete), and asked again
every `recheck_s` as the silence grows; `TurnPolicy.decide()` judges the answers since the pause
began (by default: the turn ends once every answer reached 0.5), and `max_silence_s` ends it
whatever they say (`end_silence_s` is not used then). A `VoicePause` (with the detector's P) is
reported when P reaches `pause_threshold` before the decision. The detector is called
synchronously from `feed()`; `wants_detector()` tells a caller in advance, so `segment()` runs
those frames in a worker thread.

The pause contract (what speculation relies on): after a `VoicePause`, the next result about this
utterance is either `VoiceResume` or a `VoiceEnd` whose utterance has the same `end` and the same
samples as the pause's, so a request prepared from the pause is the request the end would send.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from voxagent.audio.convert import SAMPLE_RATE, Float32Array
from voxagent.audio.melspec import WINDOW_S
from voxagent.audio.sources import Frame
from voxagent.audio.turn_detector import TurnDetector, TurnPolicy
from voxagent.audio.vad import Scorer, make_scorer
from voxagent.audio.voice_events import (
    Utterance,
    VoiceEnd,
    VoicePause,
    VoiceResume,
    VoiceStart,
)
from voxagent.errors import AudioError, ConfigurationError, VoxagentError

__all__ = [
    "Endpointer",
    "EndpointerSettings",
    "Utterance",
    "VoiceEnd",
    "VoicePause",
    "VoiceResume",
    "VoiceStart",
]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class EndpointerSettings:
    """How the endpointer decides where speech starts and ends.

    Attributes:
        start_threshold: Score at or above which a frame counts as speech when idle.
        end_threshold: Score at or above which a frame keeps an utterance going (hysteresis:
            lower than `start_threshold` so soft syllables do not end it).
        min_speech_s: Speech must last this long before it starts an utterance (rejects clicks).
        end_silence_s: Silence that ends an utterance.
        pre_roll_s: Audio kept before the detected start, so the first syllable is not cut.
        post_roll_s: Audio kept after the last speech frame (fading consonants).
        max_utterance_s: Longer speech is split at the quietest frame of the last `split_search_s`.
        split_search_s: How far back a split may look for a quiet point.
        min_loudness_dbfs: Frames quieter than this (RMS) never count as speech; None: no limit.
        pause_s: Silence after which a candidate end (`VoicePause`) is reported, before
            `end_silence_s` decides; None (or not below `end_silence_s`): never. At least
            `post_roll_s`.
    """

    start_threshold: float = 0.5
    end_threshold: float = 0.35
    min_speech_s: float = 0.1
    end_silence_s: float = 0.5
    pre_roll_s: float = 0.3
    post_roll_s: float = 0.1
    max_utterance_s: float = 30.0
    split_search_s: float = 1.0
    min_loudness_dbfs: float | None = None
    pause_s: float | None = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.end_threshold <= self.start_threshold <= 1.0:
            raise ConfigurationError(
                "endpointer thresholds must satisfy 0 <= end_threshold <= start_threshold <= 1",
                hint=f"got start={self.start_threshold}, end={self.end_threshold}",
            )
        if self.max_utterance_s <= self.split_search_s or self.end_silence_s <= 0:
            raise ConfigurationError(
                "max_utterance_s must exceed split_search_s and end_silence_s must be positive",
                hint="for example max_utterance_s=30, split_search_s=1, end_silence_s=0.5",
            )
        if self.pause_s is not None and self.pause_s < self.post_roll_s:
            raise ConfigurationError(
                "pause_s must be at least post_roll_s (a candidate end carries the post-roll)",
                hint=f"got pause_s={self.pause_s}, post_roll_s={self.post_roll_s}; "
                "None turns candidate ends off",
            )


@dataclass
class _Scored:
    frame: Frame
    score: float


@dataclass
class Endpointer:
    """Voice-activity endpointing as a pure state machine.

    Args:
        settings: Thresholds and durations.
        scorer: Voice-activity scorer called on each frame (a fresh energy scorer by default).
        detector: A turn detector that decides the end of each turn (None: silence decides).
        policy: When the detector is asked and which answers end the turn.

    Attributes:
        last_probability: The detector's latest answer in this utterance (None before the first).
        detector_calls: How many times the detector was asked (for benchmarks).
    """

    settings: EndpointerSettings = field(default_factory=EndpointerSettings)
    scorer: Scorer = field(default_factory=lambda: make_scorer(None))
    detector: TurnDetector | None = None
    policy: TurnPolicy = field(default_factory=TurnPolicy)
    last_probability: float | None = field(default=None, init=False)
    detector_calls: int = field(default=0, init=False)
    _history: deque[_Scored] = field(default_factory=deque, init=False, repr=False)
    _frames: list[_Scored] = field(default_factory=list, init=False, repr=False)
    _speaking: bool = field(default=False, init=False)
    _speech_start: float = field(default=0.0, init=False)
    _last_voiced_end: float = field(default=0.0, init=False)
    _run_start: float | None = field(default=None, init=False)
    _paused: bool = field(default=False, init=False)
    _next_check: float = field(default=0.0, init=False)
    _answers: list[tuple[float, float]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.detector is not None and self.policy.first_check_s < self.settings.post_roll_s:
            raise ConfigurationError(
                "TurnPolicy.first_check_s must be at least post_roll_s "
                "(a candidate end carries the post-roll)",
                hint=f"got first_check_s={self.policy.first_check_s}, "
                f"post_roll_s={self.settings.post_roll_s}",
            )
        self._next_check = self.policy.first_check_s

    @property
    def speaking(self) -> bool:
        """True between a `VoiceStart` and its `VoiceEnd`."""
        return self._speaking

    def feed(
        self, frame: Frame, score: float | None = None
    ) -> VoiceStart | VoicePause | VoiceResume | VoiceEnd | None:
        """Advance by one frame.

        Args:
            frame: The next frame of the stream.
            score: A precomputed voice-activity score; the scorer is called when None.
        """
        if score is None:
            score = float(self.scorer(frame.samples))
        scored = _Scored(frame, score)
        loud = self._loud_enough(frame)
        if not self._speaking:
            return self._feed_idle(scored, loud and score >= self.settings.start_threshold)
        self._frames.append(scored)
        result: VoicePause | VoiceResume | VoiceEnd | None = None
        if loud and score >= self.settings.end_threshold:
            self._last_voiced_end = frame.end
            self._next_check = self.policy.first_check_s
            self._answers.clear()
            if self._paused:
                self._paused = False
                result = VoiceResume(frame.start)
        elif self.detector is not None:
            result = self._ask(frame.end)
            if isinstance(result, VoiceEnd):
                return result
        elif frame.end - self._last_voiced_end >= self.settings.end_silence_s - _EPS:
            return self._finish(frame.end, "silence")
        elif self._pause_due(frame.end):
            self._paused = True
            return self._pause(frame.end)
        if frame.end - self._frames[0].frame.start >= self.settings.max_utterance_s - _EPS:
            return self._split(frame.end)
        return result

    def wants_detector(self, frame: Frame) -> bool:
        """Whether feeding `frame` may call the detector (so a caller can move it off its loop)."""
        return (
            self.detector is not None
            and self._speaking
            and frame.end - self._last_voiced_end >= self._next_check - _EPS
        )

    def _ask(self, now: float) -> VoicePause | VoiceEnd | None:
        assert self.detector is not None  # only called with a detector
        silence = now - self._last_voiced_end
        if silence >= self.policy.max_silence_s - _EPS:
            return self._finish(now, "silence")
        if silence < self._next_check - _EPS:
            return None
        while self._next_check <= silence + _EPS:
            self._next_check += self.policy.recheck_s
        probability = self._probability()
        self._answers.append((silence, probability))
        decision = self.policy.decide(self._answers)
        if decision == "end":
            return self._finish(now, "silence")
        if decision == "pause" and not self._paused:
            self._paused = True
            pause = self._pause(now)
            return VoicePause(pause.utterance, probability)
        return None

    def _probability(self) -> float:
        assert self.detector is not None
        needed = round(WINDOW_S * SAMPLE_RATE)  # the detector reads the last 8 s at most
        parts: list[Float32Array] = []
        size = 0
        for scored in reversed(self._frames):
            parts.append(scored.frame.samples)
            size += scored.frame.samples.size
            if size >= needed:
                break
        audio = np.concatenate(parts[::-1])[-needed:] if parts else np.zeros(0, np.float32)
        self.detector_calls += 1
        try:
            value = float(self.detector.probability_complete(audio))
        except VoxagentError:
            raise
        except Exception as exc:  # a third-party model's own errors: one typed error
            raise AudioError(
                f"the turn detector failed: {exc!r}",
                hint="check the detector, or pass detector=None to let silence decide",
            ) from exc
        if not math.isfinite(value):
            value = 0.0
        self.last_probability = min(1.0, max(0.0, value))
        return self.last_probability

    def flush(self) -> VoiceEnd | None:
        """End of stream: return the utterance in progress, if any, and reset."""
        if not self._speaking or not self._frames:
            self.reset()
            return None
        result = self._finish(self._frames[-1].frame.end, "flush")
        self.reset()
        return result

    def reset(self) -> None:
        """Forget everything heard (the scorer's own state is kept)."""
        self._history.clear()
        self._frames = []
        self._speaking = False
        self._run_start = None
        self._paused = False
        self._next_check = self.policy.first_check_s
        self._answers.clear()
        self.last_probability = None

    def _pause_due(self, now: float) -> bool:
        pause = self.settings.pause_s
        return (
            pause is not None
            and pause < self.settings.end_silence_s
            and not self._paused
            and now - self._last_voiced_end >= pause - _EPS
        )

    def _pause(self, now: float) -> VoicePause:
        end = self._last_voiced_end
        cut = end + self.settings.post_roll_s
        return VoicePause(self._utterance(self._frames, self._speech_start, end, cut, now))

    def _feed_idle(self, scored: _Scored, voiced: bool) -> VoiceStart | None:
        frame = self._append_history(scored)
        if not voiced:
            self._run_start = None
            return None
        if self._run_start is None:
            self._run_start = frame.start
        if frame.end - self._run_start < self.settings.min_speech_s - _EPS:
            return None
        self._speaking = True
        self._speech_start = self._run_start
        self._last_voiced_end = frame.end
        self._next_check = self.policy.first_check_s
        self._answers.clear()
        self.last_probability = None
        keep_from = self._speech_start - self.settings.pre_roll_s
        self._frames = [s for s in self._history if s.frame.end > keep_from + _EPS]
        self._history.clear()
        self._run_start = None
        return VoiceStart(self._speech_start)

    def _append_history(self, scored: _Scored) -> Frame:
        self._history.append(scored)
        horizon = self.settings.pre_roll_s + self.settings.min_speech_s + scored.frame.duration
        while self._history and self._history[0].frame.end < scored.frame.end - horizon:
            self._history.popleft()
        return scored.frame

    def _finish(self, now: float, reason: Literal["silence", "flush"]) -> VoiceEnd:
        end = self._last_voiced_end
        cut = min(end + self.settings.post_roll_s, now)
        utterance = self._utterance(self._frames, self._speech_start, end, cut, now)
        leftover = [s for s in self._frames if s.frame.start >= cut - _EPS]
        self._speaking = False
        self._paused = False
        self._frames = []
        for scored in leftover:  # trailing silence may become the next utterance's pre-roll
            self._append_history(scored)
        return VoiceEnd(utterance, reason)

    def _split(self, now: float) -> VoiceEnd:
        window_start = now - self.settings.split_search_s
        candidates = [i for i, s in enumerate(self._frames) if s.frame.start >= window_start]
        # The quietest frame is the least likely to fall inside a word; among equals the latest
        # keeps the first part as long as allowed.
        split = min(candidates, key=lambda i: (self._frames[i].score, -i))
        split_at = self._frames[split].frame.start
        utterance = self._utterance(self._frames[:split], self._speech_start, split_at, None, now)
        self._frames = self._frames[split:]
        self._speech_start = split_at
        self._paused = False
        return VoiceEnd(utterance, "max_length")

    @staticmethod
    def _utterance(
        frames: list[_Scored], start: float, end: float, cut: float | None, now: float
    ) -> Utterance:
        parts = [s.frame.samples for s in frames if cut is None or s.frame.start < cut - _EPS]
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        audio_start = frames[0].frame.start if frames else start
        if cut is not None:
            samples = samples[: max(0, round((cut - audio_start) * SAMPLE_RATE))]
        return Utterance(samples, SAMPLE_RATE, start, end, audio_start, now)

    def _loud_enough(self, frame: Frame) -> bool:
        floor = self.settings.min_loudness_dbfs
        if floor is None:
            return True
        if frame.samples.size == 0:
            return False
        mean_square = float(np.mean(np.square(frame.samples, dtype=np.float64)))
        return 10.0 * math.log10(mean_square + 1e-12) >= floor
