"""Audio and transcript bookkeeping for one realtime utterance.

`to_pcm16` turns whatever an audio source yields into the PCM16LE bytes the realtime protocols
carry, with the one float -> PCM16 scaling of `voxagent.audio.convert`. `RealtimeUtterance` keeps
the audio needed to replay an utterance after a dropped socket (bounded) and makes sure text
already shown is not shown twice when the server transcribes the replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# The only rate the realtime protocols take here: Voxtral Realtime listens at 16 kHz, the rate
# of every voxagent frame.
from voxagent.audio.convert import SAMPLE_RATE, float_to_pcm16
from voxagent.errors import AudioError

__all__ = ["SAMPLE_RATE", "RealtimeTimings", "RealtimeUtterance", "to_pcm16"]


def to_pcm16(item: Any) -> bytes:
    """Return `item` as PCM16LE mono bytes.

    Args:
        item: A frame (anything with `.samples`, and optionally `.sample_rate`), a numpy array
            (float in [-1, 1] or int16), or bytes already in PCM16LE.

    Raises:
        AudioError: The audio is not mono, not 16 kHz, of an unsupported type, or holds NaN or
            infinite samples.
    """
    if isinstance(item, bytes | bytearray | memoryview):
        data = bytes(item)
        if len(data) % 2:
            raise AudioError(
                "realtime audio bytes must be PCM16LE (an even number of bytes)",
                hint="Yield whole 16-bit samples, or numpy arrays.",
            )
        return data
    rate = getattr(item, "sample_rate", SAMPLE_RATE)
    if rate != SAMPLE_RATE:
        raise AudioError(
            f"realtime transcription needs 16 kHz audio, got {rate} Hz",
            hint="Resample the source to 16 kHz (voxagent.audio sources can do it).",
        )
    samples = np.asarray(getattr(item, "samples", item))
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)
    if samples.ndim != 1:
        raise AudioError(
            f"realtime transcription needs mono audio, got an array of shape {samples.shape}",
            hint="Mix the channels down to one before streaming.",
        )
    if samples.dtype == np.int16:
        return samples.astype("<i2").tobytes()
    if not np.issubdtype(samples.dtype, np.floating):
        raise AudioError(
            f"realtime audio must be float or int16 samples, got {samples.dtype}",
            hint="Yield float32 samples in [-1, 1] or int16 samples.",
        )
    return float_to_pcm16(samples)


@dataclass(frozen=True, slots=True)
class RealtimeTimings:
    """When things happened during the last utterance, in the transcriber's clock (seconds).

    Attributes:
        first_audio: The first append was sent.
        first_delta: The first delta arrived (empty pad deltas included); None if none came.
        final_commit: The last audio and the end-of-utterance messages were sent.
        done: The final transcript arrived.
        reconnects: Connections reopened during the utterance.
    """

    first_audio: float | None
    first_delta: float | None
    final_commit: float | None
    done: float
    reconnects: int


class RealtimeUtterance:
    """What the transcriber remembers about the utterance it is streaming.

    Args:
        replay_limit: The most audio bytes kept for replay; beyond it the audio is released and
            `overflowed` is set (a later drop cannot be recovered).
    """

    def __init__(self, replay_limit: int) -> None:
        self._limit = replay_limit
        self._chunks: list[bytes] = []
        self._size = 0
        self.overflowed = False
        self.source_error: BaseException | None = None
        self._shown = ""
        self._heard = ""
        self.first_audio: float | None = None
        self.first_delta: float | None = None
        self.final_commit: float | None = None

    def record(self, chunk: bytes, now: float) -> None:
        """Remember `chunk` (about to be sent) for a possible replay."""
        if self.first_audio is None:
            self.first_audio = now
        if self.overflowed:
            return
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size > self._limit:
            self.overflowed = True
            self._chunks.clear()

    def replay(self) -> list[bytes]:
        """The audio sent so far on earlier connections, to send again on a new one."""
        return list(self._chunks)

    def restart(self) -> None:
        """Start counting the server's text again: a new connection transcribes from the start."""
        self._heard = ""

    def accept(self, delta: str) -> str:
        """Take a server delta; return the part not yet shown ("" if none)."""
        self._heard += delta
        if len(self._heard) <= len(self._shown):
            return ""
        new = self._heard[len(self._shown) :]
        self._shown += new
        return new

    def mark_delta(self, now: float) -> None:
        """Note the arrival time of the first delta."""
        if self.first_delta is None:
            self.first_delta = now

    def timings(self, done: float, reconnects: int) -> RealtimeTimings:
        """The utterance's timings, now that its final transcript arrived at `done`."""
        return RealtimeTimings(
            first_audio=self.first_audio,
            first_delta=self.first_delta,
            final_commit=self.final_commit,
            done=done,
            reconnects=reconnects,
        )
