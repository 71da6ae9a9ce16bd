"""The turn-detector seam with fake detectors: decisions, re-asking, the cap, pause ordering."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from voxagent.audio import ArraySource, Endpointer, EndpointerSettings, Frame, segment
from voxagent.audio.endpointing import Utterance, VoiceEnd, VoicePause, VoiceResume, VoiceStart
from voxagent.audio.segmentation import resolve_detector
from voxagent.audio.turn_detector import TurnPolicy, find_smart_turn_model
from voxagent.errors import AudioError, ConfigurationError
from voxagent.events import SpeechStarted

RATE = 16000
FRAME = 320


def bursts(spans: list[tuple[float, float]], total: float) -> np.ndarray:
    """Quiet noise with loud harmonic bursts (speech stand-ins) over the given spans."""
    rng = np.random.default_rng(0)
    audio = (0.001 * rng.standard_normal(int(total * RATE))).astype(np.float32)
    for start, end in spans:
        t = np.arange(int((end - start) * RATE)) / RATE
        voice = sum(np.sin(2 * np.pi * f * t) for f in (220, 440, 880, 1760)) * 0.08
        audio[int(start * RATE) : int(start * RATE) + t.size] += voice.astype(np.float32)
    return audio


class Fake:
    """Answers `answer(call_index, samples)`; records what it was given and on which thread."""

    def __init__(self, answer: Callable[[int, np.ndarray], float]) -> None:
        self.answer = answer
        self.calls: list[np.ndarray] = []
        self.threads: set[int] = set()

    def probability_complete(self, samples: np.ndarray) -> float:
        self.threads.add(threading.get_ident())
        self.calls.append(samples)
        return self.answer(len(self.calls) - 1, samples)


def feed_all(endpointer: Endpointer, audio: np.ndarray) -> list[tuple[float, object]]:
    out = []
    for i in range(0, audio.size - FRAME + 1, FRAME):
        frame = Frame(audio[i : i + FRAME], i / RATE)
        result = endpointer.feed(frame)
        if result is not None:
            out.append((frame.end, result))
    return out


def ends(events: list[tuple[float, object]]) -> list[VoiceEnd]:
    return [e for _, e in events if isinstance(e, VoiceEnd)]


def test_a_confident_detector_ends_the_turn_at_the_first_check() -> None:
    fake = Fake(lambda i, s: 0.9)
    events = feed_all(Endpointer(detector=fake), bursts([(0.5, 1.5)], 4.0))
    (end,) = ends(events)
    assert end.utterance.detected_at is not None
    assert end.utterance.detected_at - end.utterance.end == pytest.approx(0.2, abs=1e-6)
    assert not any(isinstance(e, VoicePause) for _, e in events)  # decided, not a candidate
    assert len(fake.calls) == 1


def test_the_detector_is_reasked_as_silence_grows_and_the_threshold_relaxes() -> None:
    # 0.5 at 0.2 s falling to 0.1 at 1.0 s: 0.35 is reached at 0.5 s.
    policy = TurnPolicy(threshold_start=0.5, threshold_end=0.1, max_silence_s=1.0)
    fake = Fake(lambda i, s: 0.35)
    events = feed_all(Endpointer(detector=fake, policy=policy), bursts([(0.5, 1.5)], 4.0))
    (end,) = ends(events)
    assert end.utterance.detected_at is not None
    silence = end.utterance.detected_at - end.utterance.end
    assert silence == pytest.approx(0.5, abs=1e-6)
    assert len(fake.calls) == 3  # at 0.2, 0.35 and 0.5 s
    kinds = [type(e).__name__ for _, e in events]
    assert kinds == ["VoiceStart", "VoicePause", "VoiceEnd"]  # 0.35 >= pause_threshold 0.3
    pause = next(e for _, e in events if isinstance(e, VoicePause))
    assert pause.probability == 0.35
    np.testing.assert_array_equal(pause.utterance.samples, end.utterance.samples)
    assert pause.utterance.end == end.utterance.end
    # Each question got the audio up to the moment it was asked: longer every time.
    sizes = [c.size for c in fake.calls]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3


def test_an_unsure_detector_is_capped() -> None:
    fake = Fake(lambda i, s: 0.0)
    policy = TurnPolicy(max_silence_s=1.3)
    events = feed_all(Endpointer(detector=fake, policy=policy), bursts([(0.5, 1.5)], 4.0))
    (end,) = ends(events)
    assert end.utterance.detected_at is not None
    assert end.utterance.detected_at - end.utterance.end == pytest.approx(1.3, abs=1e-6)
    assert not any(isinstance(e, VoicePause) for _, e in events)
    assert len(fake.calls) == 8  # 0.2 .. 1.25 s every 0.15 s; the cap needs no question


def test_pause_resume_then_end_keep_the_contract() -> None:
    # P 0.32: a candidate end at 0.2 s, the decision only at 0.56 s; the first gap is 0.5 s.
    fake = Fake(lambda i, s: 0.32)
    audio = bursts([(0.5, 1.5), (2.0, 2.8)], 5.0)
    policy = TurnPolicy(threshold_start=0.5, threshold_end=0.1, max_silence_s=1.0)
    events = feed_all(Endpointer(detector=fake, policy=policy), audio)
    kinds = [type(e).__name__ for _, e in events]
    assert kinds == ["VoiceStart", "VoicePause", "VoiceResume", "VoicePause", "VoiceEnd"]
    resume = events[2][1]
    assert isinstance(resume, VoiceResume) and resume.at == pytest.approx(2.0, abs=0.03)
    last_pause, end = events[3][1], events[4][1]
    assert isinstance(last_pause, VoicePause) and isinstance(end, VoiceEnd)
    assert last_pause.utterance.end == end.utterance.end
    np.testing.assert_array_equal(last_pause.utterance.samples, end.utterance.samples)
    assert end.utterance.start == pytest.approx(0.5, abs=0.03)  # one turn over both bursts


def test_the_detector_sees_at_most_the_last_8_s() -> None:
    fake = Fake(lambda i, s: 1.0)
    feed_all(Endpointer(detector=fake), bursts([(0.3, 10.3)], 12.0))
    assert fake.calls and all(c.size <= 8 * RATE for c in fake.calls)
    assert fake.calls[0].size == 8 * RATE


def test_a_failing_detector_raises_one_typed_error() -> None:
    def broken(i: int, s: np.ndarray) -> float:
        raise RuntimeError("model exploded")

    with pytest.raises(AudioError, match="turn detector failed"):
        feed_all(Endpointer(detector=Fake(broken)), bursts([(0.5, 1.5)], 3.0))


def test_a_nan_answer_counts_as_incomplete() -> None:
    fake = Fake(lambda i, s: float("nan"))
    events = feed_all(Endpointer(detector=fake), bursts([(0.5, 1.5)], 3.0))
    (end,) = ends(events)
    assert end.utterance.detected_at is not None
    cap = TurnPolicy().max_silence_s
    assert end.utterance.detected_at - end.utterance.end == pytest.approx(cap, abs=1e-6)


@pytest.mark.anyio
async def test_segment_asks_the_detector_off_the_event_loop() -> None:
    fake = Fake(lambda i, s: 0.32)
    audio = bursts([(0.5, 1.5), (2.0, 2.8)], 5.0)
    items = [e async for e in segment(ArraySource(audio, RATE), detector=fake)]
    kinds = [type(e).__name__ for e in items]
    assert kinds == ["SpeechStarted", "VoicePause", "VoiceResume", "VoicePause", "Utterance"]
    assert threading.get_ident() not in fake.threads
    utterance = items[-1]
    assert isinstance(utterance, Utterance) and isinstance(items[0], SpeechStarted)


@pytest.mark.anyio
async def test_without_a_detector_silence_decides_as_before() -> None:
    audio = bursts([(0.5, 1.5)], 3.0)
    items = [e async for e in segment(ArraySource(audio, RATE), detector=None)]
    utterance = items[-1]
    assert isinstance(utterance, Utterance) and utterance.detected_at is not None
    assert utterance.detected_at - utterance.end == pytest.approx(0.5, abs=1e-6)


def test_voice_start_is_unchanged_by_a_detector() -> None:
    events = feed_all(Endpointer(detector=Fake(lambda i, s: 1.0)), bursts([(0.5, 1.5)], 3.0))
    assert isinstance(events[0][1], VoiceStart)


def test_resolve_detector(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VOXAGENT_TURN_MODEL", "off")
    assert resolve_detector("auto") is None
    assert find_smart_turn_model() is None
    monkeypatch.setenv("VOXAGENT_TURN_MODEL", str(tmp_path / "missing.onnx"))
    with pytest.raises(AudioError, match="turn model not found"):
        resolve_detector("auto")
    with pytest.raises(ConfigurationError):
        resolve_detector("smart")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        resolve_detector(object())  # type: ignore[arg-type]
    fake = Fake(lambda i, s: 1.0)
    assert resolve_detector(fake) is fake


def test_a_bad_model_file_is_one_typed_error(tmp_path: Path) -> None:
    from voxagent.audio.turn_detector import SmartTurnDetector  # onnxruntime: tools/test.sh

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(AudioError, match="cannot load the turn model"):
        SmartTurnDetector(bad)


@pytest.mark.parametrize(
    "options",
    [
        {"first_check_s": 0.0},
        {"first_check_s": 1.5, "max_silence_s": 1.0},
        {"recheck_s": 0.0},
        {"threshold_start": 1.5},
        {"pause_threshold": -0.1},
        {"confirm_asks": 0},
    ],
)
def test_policy_validation(options: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        TurnPolicy(**options)


def test_first_check_must_cover_the_post_roll() -> None:
    with pytest.raises(ConfigurationError):
        Endpointer(
            EndpointerSettings(post_roll_s=0.15),
            detector=Fake(lambda i, s: 1.0),
            policy=TurnPolicy(first_check_s=0.1),
        )


# The decision rule alone: answers are (silence_s, P) since speech paused, oldest first.
# A mid-sentence pause that the model reads as an end as the silence grows.
CLIMBING = [(0.2, 0.04), (0.3, 0.42), (0.4, 0.8), (0.5, 0.92)]


def test_the_default_judges_the_lowest_answer_since_the_pause() -> None:
    policy = TurnPolicy()
    assert policy.steady and policy.threshold(0.2) == policy.threshold(1.0) == 0.5
    assert policy.decide([]) == "wait"
    assert policy.decide([(0.2, 0.9)]) == "end"
    assert policy.decide([(0.2, 0.9), (0.3, 0.6)]) == "end"  # never below 0.5
    # P climbs with the silence: a candidate end, but the low first answer holds the turn.
    assert [policy.decide(CLIMBING[: i + 1]) for i in range(4)] == [
        "wait",
        "pause",
        "pause",
        "pause",
    ]
    assert policy.decide([(0.2, 0.9), (0.3, 0.2)]) == "wait"  # a drop is remembered


def test_the_latest_answer_alone_ends_a_climbing_turn() -> None:
    policy = TurnPolicy(steady=False)
    assert policy.decide(CLIMBING[:2]) == "pause"
    assert policy.decide(CLIMBING[:3]) == "end"


def test_confirm_asks_needs_that_many_answers_in_a_row() -> None:
    policy = TurnPolicy(steady=False, confirm_asks=2)
    assert policy.decide([(0.2, 0.9)]) == "pause"  # one high answer is not two
    assert policy.decide([(0.2, 0.9), (0.3, 0.95)]) == "end"
    assert policy.decide([(0.2, 0.9), (0.3, 0.4), (0.4, 0.9)]) == "pause"
    # Each answer is judged against the threshold of its own silence.
    relaxing = TurnPolicy(steady=False, confirm_asks=2, threshold_end=0.1, max_silence_s=1.0)
    assert relaxing.decide([(0.2, 0.45), (0.9, 0.45)]) == "pause"  # 0.45 < 0.5 at 0.2 s
    assert relaxing.decide([(0.8, 0.45), (0.9, 0.45)]) == "end"


def test_a_climbing_detector_waits_for_the_cap() -> None:
    # Answers 0.04, 0.42, 0.8, 0.92, 0.97...: what Smart Turn says at a real mid-sentence pause.
    answers = [0.04, 0.42, 0.8, 0.92] + [0.97] * 20
    fake = Fake(lambda i, s: answers[i])
    events = feed_all(Endpointer(detector=fake), bursts([(0.5, 1.5)], 4.0))
    (end,) = ends(events)
    assert end.utterance.detected_at is not None
    cap = TurnPolicy().max_silence_s
    assert end.utterance.detected_at - end.utterance.end == pytest.approx(cap, abs=1e-6)
    kinds = [type(e).__name__ for _, e in events]
    assert kinds == ["VoiceStart", "VoicePause", "VoiceEnd"]  # the candidate at 0.42
    assert len(fake.calls) == 6  # 0.2 .. 0.95 s every 0.15 s; the cap needs no question
    # The same answers judged one by one end the turn at the third question (0.5 s).
    fake = Fake(lambda i, s: answers[i])
    latest = TurnPolicy(steady=False)
    (end,) = ends(feed_all(Endpointer(detector=fake, policy=latest), bursts([(0.5, 1.5)], 4.0)))
    assert end.utterance.detected_at is not None
    assert end.utterance.detected_at - end.utterance.end == pytest.approx(0.5, abs=1e-6)


def test_speech_that_resumes_starts_the_answers_afresh() -> None:
    # A low answer in the first gap must not hold the second: after speech resumes, the next
    # pause is judged on its own answers (0.9 at its first question ends the turn there).
    def answer(i: int, s: np.ndarray) -> float:
        return 0.1 if s.size < 2.0 * RATE else 0.9

    fake = Fake(answer)
    audio = bursts([(0.5, 1.5), (1.9, 2.8)], 5.0)
    events = feed_all(Endpointer(detector=fake), audio)
    (end,) = ends(events)
    assert end.utterance.start == pytest.approx(0.5, abs=0.03)
    assert end.utterance.detected_at is not None
    assert end.utterance.detected_at - end.utterance.end == pytest.approx(0.2, abs=1e-6)
