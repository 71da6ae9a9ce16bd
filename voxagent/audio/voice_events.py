"""What the endpointer reports: utterances and the speech events around them.

`VoiceStart` (speech began), `VoicePause` (a candidate end, not yet decided), `VoiceResume`
(speech came back after a pause) and `VoiceEnd` (the utterance is complete, with its `Utterance`:
samples and stream-time boundaries). `voxagent.audio.endpointing` produces them; `segment()` and
the agent's listening loop consume them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from voxagent.audio.clip import AudioClip
from voxagent.audio.convert import Float32Array

__all__ = ["Utterance", "VoiceEnd", "VoicePause", "VoiceResume", "VoiceStart", "join_utterances"]


@dataclass(frozen=True, slots=True, eq=False)
class Utterance:
    """One finished stretch of speech, ready for the model.

    Attributes:
        samples: float32 mono samples (pre-roll and post-roll included).
        sample_rate: Always 16000 from voxagent's own sources.
        start: Stream time where speech was detected to start, in seconds.
        end: Stream time where speech ended (the last speech frame, not the decision time).
        audio_start: Stream time of `samples[0]` (before `start` by the pre-roll); `start`
            when None.
        detected_at: Stream time at which the end was decided (end + end silence); None when
            unknown.
    """

    samples: Float32Array
    sample_rate: int
    start: float
    end: float
    audio_start: float | None = None
    detected_at: float | None = None

    @property
    def duration(self) -> float:
        """Length of `samples` in seconds (what is sent to the model)."""
        return self.samples.size / self.sample_rate

    def to_clip(self) -> AudioClip:
        """Encode as a 16 kHz mono WAV `AudioClip`."""
        from voxagent.audio.ingest import clip_from_samples

        return clip_from_samples(self.samples, self.sample_rate)

    def __repr__(self) -> str:
        return (
            f"Utterance(start={self.start:.3f}, end={self.end:.3f}, duration={self.duration:.2f})"
        )


def join_utterances(first: Utterance, then: Utterance, *, max_gap_s: float = 1.0) -> Utterance:
    """One utterance holding `first`, the pause after it, and `then` (which came later).

    For a turn taken back because the user went on speaking: the model hears the whole thing
    as said. The audio between the two was not kept, so the pause is silence, at most
    `max_gap_s` long (a longer wait carries no meaning for the model); audio the two share
    (pre-roll of `then` over the post-roll of `first`) is kept once.
    """
    rate = first.sample_rate
    first_from = first.start if first.audio_start is None else first.audio_start
    then_from = then.start if then.audio_start is None else then.audio_start
    first_to = first_from + first.samples.size / rate
    overlap = round(max(0.0, first_to - then_from) * rate)
    gap = np.zeros(round(min(max(0.0, then_from - first_to), max_gap_s) * rate), np.float32)
    samples = np.concatenate((first.samples, gap, then.samples[overlap:])).astype(np.float32)
    return Utterance(samples, rate, first.start, then.end, first_from, then.detected_at)


@dataclass(frozen=True, slots=True)
class VoiceStart:
    """Speech began at stream time `at` (reported `min_speech_s` later)."""

    at: float


@dataclass(frozen=True, slots=True)
class VoicePause:
    """Speech paused and the turn looks complete: a candidate end, not yet decided.

    Attributes:
        utterance: The audio so far: exactly what `VoiceEnd` carries if the user stays silent.
        probability: A turn detector's P(turn complete); None when no detector was asked.
    """

    utterance: Utterance
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class VoiceResume:
    """Speech came back after a `VoicePause`, before the end was decided: the utterance goes on.

    Attributes:
        at: Stream time where speech resumed, in seconds.
    """

    at: float


@dataclass(frozen=True, slots=True)
class VoiceEnd:
    """An utterance is complete.

    Attributes:
        utterance: The audio and its boundaries.
        reason: "silence" (end silence heard), "max_length" (split; speech goes on and a new
            utterance started at `utterance.end`), or "flush" (the source ended).
    """

    utterance: Utterance
    reason: Literal["silence", "max_length", "flush"] = "silence"
