"""`to_clip`: turn whatever a user passes as `audio=` into an `AudioClip` a server accepts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxagent.audio.clip import AudioClip
from voxagent.audio.convert import (
    SAMPLE_RATE,
    check_finite,
    decode_audio,
    encode_wav,
    is_chat_ready_wav,
    resample,
    to_float32,
    to_mono,
)
from voxagent.errors import AudioError

__all__ = ["AudioInput", "clip_from_samples", "to_clip"]

AudioInput = str | Path | bytes | bytearray | memoryview | npt.NDArray[np.generic]
"""What `to_clip` accepts: a path, an encoded file's bytes, or a sample array (with its rate)."""

# Compressed formats Voxtral servers decode (libsndfile on the server side); sent as they are when
# mono and smaller than the 16 kHz WAV, because re-encoding would only grow the request.
_PASS_THROUGH = {"flac", "ogg", "mp3"}


def to_clip(audio: AudioInput, sample_rate: int | None = None) -> AudioClip:
    """Return audio ready for the chat API.

    The result is a 16 kHz mono 16-bit WAV, except that an encoded mono flac/ogg/mp3 file smaller
    than that WAV, or a file that already is such a WAV, is passed through byte for byte.
    Multi-channel audio is always down-mixed (servers reject stereo). This reads and decodes
    synchronously: call it through `anyio.to_thread.run_sync` for long files inside async code.

    Args:
        audio: A file path, an encoded file's bytes, or samples (1-D, or (frames, channels);
            float in [-1, 1] or int16 PCM).
        sample_rate: The array's rate in Hz; required for arrays, ignored otherwise.

    Raises:
        AudioError: Missing file, directory, unreadable/corrupt/unsupported data, empty audio,
            NaN samples, an array without `sample_rate`.
    """
    if isinstance(audio, np.ndarray):
        if sample_rate is None:
            raise AudioError(
                "an audio array needs its sample rate",
                hint="call to_clip(samples, sample_rate=...) / ask(audio=samples, sample_rate=...)",
            )
        return clip_from_samples(audio, sample_rate)
    if isinstance(audio, str | Path):
        return _clip_from_bytes(_read_file(Path(audio)), source=str(audio))
    if isinstance(audio, bytes | bytearray | memoryview):
        return _clip_from_bytes(bytes(audio), source="audio bytes")
    raise AudioError(
        f"cannot use a {type(audio).__name__} as audio",
        hint="pass a file path, the file's bytes, or a numpy array with sample_rate",
    )


def clip_from_samples(samples: npt.ArrayLike, sample_rate: int) -> AudioClip:
    """Encode samples at any rate/channel count as a 16 kHz mono WAV clip.

    Raises:
        AudioError: Empty or non-finite samples, or an unusable dtype/shape.
    """
    mono = to_mono(to_float32(samples))
    if mono.size == 0:
        raise AudioError("the audio is empty (0 samples)", hint="pass at least some samples")
    check_finite(mono)
    audio16k = resample(mono, sample_rate, SAMPLE_RATE)
    return AudioClip(encode_wav(audio16k), "wav", audio16k.size / SAMPLE_RATE)


def _read_file(path: Path) -> bytes:
    if path.is_dir():
        raise AudioError(f"{path} is a directory, not an audio file", hint="pass a file's path")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise AudioError(f"audio file not found: {path}", hint="check the path") from None
    except OSError as exc:
        raise AudioError(f"cannot read {path}: {exc.strerror}", hint="check permissions") from exc


def _clip_from_bytes(data: bytes, *, source: str) -> AudioClip:
    frames = is_chat_ready_wav(data)
    if frames is not None:  # 16-bit samples are always finite: nothing to check or convert
        return AudioClip(data, "wav", frames / SAMPLE_RATE)
    try:
        samples, rate, fmt = decode_audio(data)
    except AudioError as exc:
        raise AudioError(f"{source}: {exc.message}", hint=exc.hint) from exc
    if samples.shape[0] == 0:
        raise AudioError(f"{source}: the audio has no samples", hint="record or pass longer audio")
    check_finite(samples)
    clip = clip_from_samples(samples, rate)
    if fmt in _PASS_THROUGH and samples.shape[1] == 1 and len(data) < len(clip.data):
        return AudioClip(data, fmt, samples.shape[0] / rate)
    return clip

