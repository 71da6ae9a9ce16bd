"""`join_utterances`: a turn taken back and the utterance that continues it, heard as one."""

from __future__ import annotations

import numpy as np
import pytest

from voxagent.audio import Utterance, join_utterances

RATE = 16000


def utterance(audio_start: float, seconds: float, value: float, start_in: float = 0.1) -> Utterance:
    samples = np.full(round(seconds * RATE), value, dtype=np.float32)
    return Utterance(
        samples,
        RATE,
        start=audio_start + start_in,
        end=audio_start + seconds - 0.1,
        audio_start=audio_start,
        detected_at=audio_start + seconds + 0.3,
    )


def test_a_pause_between_the_two_is_kept_as_silence() -> None:
    first, then = utterance(0.0, 1.0, 0.5), utterance(1.6, 0.8, -0.5)
    joined = join_utterances(first, then)
    assert joined.samples.size == round(2.4 * RATE)  # 1.0 + the 0.6 s between + 0.8
    assert np.all(joined.samples[:RATE] == 0.5)
    assert np.all(joined.samples[RATE : round(1.6 * RATE)] == 0.0)
    assert np.all(joined.samples[round(1.6 * RATE) :] == -0.5)
    assert (joined.start, joined.end) == (first.start, then.end)
    assert joined.audio_start == 0.0 and joined.detected_at == then.detected_at
    assert joined.samples.dtype == np.float32


def test_a_long_wait_is_shortened_to_the_longest_pause() -> None:
    first, then = utterance(0.0, 1.0, 0.5), utterance(9.0, 1.0, -0.5)
    joined = join_utterances(first, then, max_gap_s=1.0)
    assert joined.samples.size == round(3.0 * RATE)
    assert np.all(joined.samples[RATE : 2 * RATE] == 0.0)
    assert joined.end == then.end  # stream time stays true, only the audio is shortened


def test_audio_both_hold_is_kept_once() -> None:
    # The second's pre-roll reaches back 0.25 s into the first's post-roll.
    first, then = utterance(0.0, 1.0, 0.5), utterance(0.75, 1.0, -0.5)
    joined = join_utterances(first, then)
    assert joined.samples.size == round(1.75 * RATE)
    assert np.all(joined.samples[:RATE] == 0.5)
    assert np.all(joined.samples[RATE:] == -0.5)
    assert joined.duration == pytest.approx(1.75)
