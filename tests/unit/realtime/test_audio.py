"""PCM conversion and the replay/de-duplication bookkeeping of one utterance."""

from __future__ import annotations

import numpy as np
import pytest

from voxagent.audio import Frame
from voxagent.errors import AudioError
from voxagent.realtime.audio import RealtimeUtterance, to_pcm16


def test_float_samples_are_scaled_and_clipped() -> None:
    pcm = to_pcm16(np.array([0.0, 0.5, -1.0, 2.0], dtype=np.float32))
    # The scaling of voxagent.audio.convert: x 32768, clipped to int16 (its docstring says why).
    assert np.frombuffer(pcm, "<i2").tolist() == [0, 16384, -32768, 32767]


def test_frames_int16_and_bytes() -> None:
    frame = Frame(samples=np.array([0.25, -0.25], dtype=np.float32), start=0.0)
    assert np.frombuffer(to_pcm16(frame), "<i2").tolist() == [8192, -8192]
    assert to_pcm16(np.array([1, -2], dtype=np.int16)) == b"\x01\x00\xfe\xff"
    assert to_pcm16(b"\x01\x00") == b"\x01\x00"
    assert to_pcm16(np.zeros((4, 1), dtype=np.float32)) == b"\x00" * 8


@pytest.mark.parametrize(
    ("item", "match"),
    [
        (b"\x01", "even number"),
        (np.zeros((4, 2), dtype=np.float32), "mono"),
        (np.array(["a"]), "float or int16"),
        (np.array([0.0, np.nan], dtype=np.float32), "NaN"),
    ],
)
def test_unusable_audio_is_refused(item: object, match: str) -> None:
    with pytest.raises(AudioError, match=match):
        to_pcm16(item)


def test_wrong_rate_is_refused() -> None:
    class Rated:
        samples = np.zeros(4, dtype=np.float32)
        sample_rate = 48_000

    with pytest.raises(AudioError, match="16 kHz"):
        to_pcm16(Rated())


def test_replayed_transcript_is_not_shown_twice() -> None:
    utt = RealtimeUtterance(1000)
    assert [utt.accept(d) for d in ["he", "llo", " wor"]] == ["he", "llo", " wor"]
    utt.restart()  # the server starts again from the first sample
    assert [utt.accept(d) for d in ["hel", "lo", " world", "!"]] == ["", "", "ld", "!"]


def test_replay_buffer_is_bounded() -> None:
    utt = RealtimeUtterance(10)
    utt.record(b"\x00" * 6, 1.0)
    assert utt.replay() == [b"\x00" * 6] and not utt.overflowed
    utt.record(b"\x00" * 6, 2.0)
    assert utt.overflowed and utt.replay() == []
    assert utt.first_audio == 1.0


def test_every_pcm16_sample_survives_decoding_and_encoding_again() -> None:
    from voxagent.audio.convert import pcm16_to_float

    pcm = np.arange(-32768, 32768, dtype="<i2").tobytes()
    assert to_pcm16(pcm16_to_float(pcm)) == pcm
