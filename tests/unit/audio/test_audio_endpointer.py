"""The endpointer as a pure state machine, driven by explicit scores (no audio, no clock)."""

from __future__ import annotations

import numpy as np
import pytest

from voxagent.audio import (
    Endpointer,
    EndpointerSettings,
    Frame,
    VoiceEnd,
    VoicePause,
    VoiceResume,
    VoiceStart,
)
from voxagent.errors import ConfigurationError

BLOCK = 320  # 20 ms


def frames(scores: list[float], level: float = 0.1) -> list[tuple[Frame, float]]:
    """One 20 ms frame per score; each frame's samples hold its index (to check cuts)."""
    out = []
    for i, score in enumerate(scores):
        samples = np.full(BLOCK, level if score >= 0.5 else 0.001, dtype=np.float32)
        samples[0] = i / 10000  # marker
        out.append((Frame(samples, i * BLOCK / 16000), score))
    return out


def run(endpointer: Endpointer, scores: list[float]) -> list[tuple[int, VoiceStart | VoiceEnd]]:
    """Starts and ends only (candidate ends are tested on their own with `run_all`)."""
    return [(i, r) for i, r in run_all(endpointer, scores) if isinstance(r, VoiceStart | VoiceEnd)]


def run_all(
    endpointer: Endpointer, scores: list[float]
) -> list[tuple[int, VoiceStart | VoicePause | VoiceResume | VoiceEnd]]:
    results: list[tuple[int, VoiceStart | VoicePause | VoiceResume | VoiceEnd]] = []
    for i, (frame, score) in enumerate(frames(scores)):
        result = endpointer.feed(frame, score)
        if result is not None:
            results.append((i, result))
    final = endpointer.flush()
    if final is not None:
        results.append((len(scores), final))
    return results


def test_start_end_and_boundaries() -> None:
    settings = EndpointerSettings(
        min_speech_s=0.1, end_silence_s=0.5, pre_roll_s=0.2, post_roll_s=0.1
    )
    # 1 s silence, 1 s speech, 1 s silence
    results = run(Endpointer(settings), [0.0] * 50 + [0.9] * 50 + [0.0] * 50)
    (i_start, start), (i_end, end) = results
    assert isinstance(start, VoiceStart) and isinstance(end, VoiceEnd)
    assert start.at == pytest.approx(1.0)
    assert i_start == 54  # reported once min_speech (5 frames) has passed
    assert end.reason == "silence"
    utterance = end.utterance
    assert (utterance.start, utterance.end) == pytest.approx((1.0, 2.0))
    assert i_end == 124  # 25 silent frames = 0.5 s after the end
    assert utterance.detected_at == pytest.approx(2.5)
    assert utterance.audio_start == pytest.approx(0.8)  # pre-roll
    assert utterance.duration == pytest.approx(0.2 + 1.0 + 0.1)
    assert utterance.samples[0] == pytest.approx(40 / 10000)  # first pre-roll frame's marker


def test_short_blips_and_gaps_do_not_start_or_end() -> None:
    settings = EndpointerSettings(min_speech_s=0.1, end_silence_s=0.3)
    blips = [0.0] * 10 + [0.9] * 4 + [0.0] * 10 + [0.9] * 3 + [0.0] * 10
    assert run(Endpointer(settings), blips) == []
    # A 200 ms pause inside speech does not end it; hysteresis keeps 0.4 as speech.
    speech = [0.9] * 20 + [0.0] * 10 + [0.4] * 20 + [0.9] * 10 + [0.0] * 20
    results = run(Endpointer(settings), speech)
    assert [type(r) for _, r in results] == [VoiceStart, VoiceEnd]
    end = results[1][1]
    assert isinstance(end, VoiceEnd)
    assert end.utterance.end == pytest.approx(60 * 0.02)


def test_max_length_splits_at_the_quietest_frame() -> None:
    settings = EndpointerSettings(max_utterance_s=2.0, split_search_s=0.5, end_silence_s=0.5)
    scores = [0.9] * 200
    scores[90] = 0.6  # the quietest point inside the last 0.5 s before 2 s
    results = run(Endpointer(settings), scores)
    kinds = [(type(r).__name__, getattr(r, "reason", None)) for _, r in results]
    assert kinds[0] == ("VoiceStart", None)
    assert kinds[1] == ("VoiceEnd", "max_length")
    first = results[1][1]
    assert isinstance(first, VoiceEnd)
    assert first.utterance.end == pytest.approx(1.8)
    assert first.utterance.duration == pytest.approx(1.8)
    # Speech continues: the rest is split again and finally flushed at the end of the stream.
    assert kinds[-1] == ("VoiceEnd", "flush")
    total = sum(r.utterance.duration for _, r in results if isinstance(r, VoiceEnd))
    assert total == pytest.approx(4.0)  # nothing lost, nothing duplicated


def test_flush_mid_utterance_and_reset() -> None:
    endpointer = Endpointer(EndpointerSettings())
    results = run(endpointer, [0.0] * 5 + [0.9] * 30)
    assert isinstance(results[-1][1], VoiceEnd) and results[-1][1].reason == "flush"
    assert not endpointer.speaking
    assert endpointer.flush() is None


def test_min_loudness_vetoes_quiet_speech_scores() -> None:
    quiet = EndpointerSettings(min_loudness_dbfs=-10.0)  # frames are ~ -20 dBFS
    assert run(Endpointer(quiet), [0.0] * 5 + [0.9] * 30 + [0.0] * 30) == []
    loud = EndpointerSettings(min_loudness_dbfs=-30.0)
    assert len(run(Endpointer(loud), [0.0] * 5 + [0.9] * 30 + [0.0] * 30)) == 2


def test_scorer_is_called_when_no_score_given() -> None:
    seen: list[int] = []

    def scorer(samples: np.ndarray) -> float:
        seen.append(samples.size)
        return 1.0

    endpointer = Endpointer(EndpointerSettings(min_speech_s=0.04), scorer)
    results = [endpointer.feed(f) for f, _ in frames([0.0] * 3)]
    assert seen == [BLOCK] * 3
    assert isinstance(results[1], VoiceStart)


def test_utterance_to_clip_is_wav() -> None:
    endpointer = Endpointer(EndpointerSettings())
    results = run(endpointer, [0.0] * 10 + [0.9] * 30 + [0.0] * 30)
    end = results[-1][1]
    assert isinstance(end, VoiceEnd)
    clip = end.utterance.to_clip()
    assert clip.format == "wav" and clip.data[:4] == b"RIFF"
    assert clip.duration_s == pytest.approx(end.utterance.duration)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_threshold": 0.3, "end_threshold": 0.5},
        {"start_threshold": 1.5},
        {"max_utterance_s": 0.5},
        {"end_silence_s": 0},
    ],
)
def test_invalid_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        EndpointerSettings(**kwargs)


def test_candidate_end_carries_exactly_what_the_end_will() -> None:
    settings = EndpointerSettings(end_silence_s=0.5, pause_s=0.2, post_roll_s=0.1)
    results = run_all(Endpointer(settings), [0.0] * 20 + [0.9] * 50 + [0.0] * 40)
    kinds = [type(r) for _, r in results]
    assert kinds == [VoiceStart, VoicePause, VoiceEnd]
    (i_pause, pause), (i_end, end) = results[1], results[2]
    assert isinstance(pause, VoicePause) and isinstance(end, VoiceEnd)
    assert i_pause == 70 + 10 - 1  # 0.2 s of silence after the last voiced frame
    assert i_end == 70 + 25 - 1
    assert pause.utterance.end == end.utterance.end
    np.testing.assert_array_equal(pause.utterance.samples, end.utterance.samples)
    assert pause.probability is None


def test_speech_after_a_candidate_end_resumes_the_same_utterance() -> None:
    settings = EndpointerSettings(end_silence_s=0.5, pause_s=0.2)
    scores = [0.9] * 20 + [0.0] * 15 + [0.9] * 20 + [0.0] * 40
    results = run_all(Endpointer(settings), scores)
    kinds = [type(r) for _, r in results]
    assert kinds == [VoiceStart, VoicePause, VoiceResume, VoicePause, VoiceEnd]
    resume = results[2][1]
    assert isinstance(resume, VoiceResume) and resume.at == pytest.approx(35 * BLOCK / 16000)
    end = results[-1][1]
    assert isinstance(end, VoiceEnd)
    assert end.utterance.end == pytest.approx(55 * BLOCK / 16000)  # one utterance, both parts


def test_candidate_ends_can_be_turned_off() -> None:
    for pause in (None, 0.5, 0.8):  # None, or not below the end silence
        settings = EndpointerSettings(end_silence_s=0.5, pause_s=pause)
        kinds = [type(r) for _, r in run_all(Endpointer(settings), [0.9] * 20 + [0.0] * 40)]
        assert kinds == [VoiceStart, VoiceEnd]
    with pytest.raises(ConfigurationError, match="pause_s"):
        EndpointerSettings(pause_s=0.05, post_roll_s=0.1)
