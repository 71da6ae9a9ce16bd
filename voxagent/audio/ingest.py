"""`to_clip`: turn whatever a user passes as `audio=` into an `AudioClip` a server accepts."""

from __future__ import annotations

import errno
import io
import math
import os
import select
import stat
from pathlib import Path

import anyio
import anyio.from_thread
import numpy as np
import numpy.typing as npt
import soundfile as sf

from voxagent.audio.clip import AudioClip
from voxagent.audio.convert import (
    SAMPLE_RATE,
    check_finite,
    check_sample_rate,
    decode_audio,
    encode_wav,
    is_chat_ready_wav,
    probe_audio,
    resample,
    to_float32,
    to_frames_channels,
    to_mono,
)
from voxagent.errors import AudioError

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_INPUT_SECONDS",
    "AudioInput",
    "check_clip",
    "check_duration",
    "clip_from_samples",
    "read_clip",
    "to_clip",
]

MAX_INPUT_BYTES = 200 * 1024 * 1024
"""The largest encoded input `to_clip` reads by default (a file, a pipe, bytes): 200 MB."""

MAX_INPUT_SECONDS = 3600.0
"""The longest audio `to_clip` accepts by default: one hour, beyond what Voxtral takes in one turn
(about 40 minutes); longer input is refused before it is decoded into memory."""

# A pipe or device is read in blocks this large, waiting at most _POLL_S for each, so that a read
# notices cancellation and never holds more than the size limit.
_READ_BLOCK = 1024 * 1024
_POLL_S = 0.05

AudioInput = str | Path | bytes | bytearray | memoryview | npt.NDArray[np.generic]
"""What `to_clip` accepts: a path, an encoded file's bytes, or a sample array (with its rate).

The one name for audio not yet encoded; what `Agent.ask(audio=...)` takes is an `AudioInput` or
an `AudioClip` already encoded.
"""

# Formats a chat server accepts, as AudioClip.format names them (libsndfile's names, lower case).
_SERVER_FORMATS = ("flac", "mp3", "ogg", "wav")
# A clip's stated and decoded durations may differ by rounding, never by more than this.
_DURATION_TOLERANCE_S = 0.005

# Compressed formats Voxtral servers decode (libsndfile on the server side); sent as they are when
# mono and smaller than the 16 kHz WAV, because re-encoding would only grow the request.
_PASS_THROUGH = {"flac", "ogg", "mp3"}


def to_clip(
    audio: AudioInput,
    sample_rate: int | None = None,
    *,
    max_bytes: int = MAX_INPUT_BYTES,
    max_seconds: float = MAX_INPUT_SECONDS,
) -> AudioClip:
    """Return audio ready for the chat API.

    The result is a 16 kHz mono 16-bit WAV, except that an encoded mono flac/ogg/mp3 file smaller
    than that WAV, or a file that already is such a WAV, is passed through byte for byte.
    Multi-channel audio is always down-mixed (servers reject stereo). This reads and decodes
    synchronously: inside async code use `read_clip`, which runs it in a worker thread.

    A path may name a regular file or a pipe/FIFO/device (`/dev/stdin`, `<(sox ...)`); a pipe is
    read until its writer closes it. When this runs in an anyio worker thread (`read_clip`, or
    `anyio.to_thread.run_sync`), waiting for a pipe's writer ends as soon as the calling task is
    cancelled.

    Args:
        audio: A file path, an encoded file's bytes, or samples (1-D, (frames, channels) or
            (channels, frames); float in [-1, 1] or int16 PCM).
        sample_rate: The array's rate in Hz (a whole number); required for arrays, ignored
            otherwise.
        max_bytes: The largest encoded input read (file, pipe or bytes).
        max_seconds: The longest audio accepted; checked from the header or the array's shape
            before anything is decoded.

    Raises:
        AudioError: Missing file, directory, unreadable/corrupt/unsupported data, empty audio,
            NaN samples, an array without `sample_rate` or with an unusable one, input over
            `max_bytes` or audio over `max_seconds`.
    """
    if isinstance(audio, np.ndarray):
        if sample_rate is None:
            raise AudioError(
                "an audio array needs its sample rate",
                hint="call to_clip(samples, sample_rate=...) / ask(audio=samples, sample_rate=...)",
            )
        rate = check_sample_rate(sample_rate)
        oriented = to_frames_channels(audio)
        check_duration(oriented.shape[0] / rate, max_seconds, source="the audio array")
        return _encode(oriented, rate)
    if isinstance(audio, str | Path):
        data = _read_file(Path(audio), max_bytes)
        return _clip_from_bytes(data, source=str(audio), max_seconds=max_seconds)
    if isinstance(audio, bytes | bytearray | memoryview):
        _check_size(memoryview(audio).nbytes, max_bytes, source="the audio bytes")  # before a copy
        return _clip_from_bytes(bytes(audio), source="audio bytes", max_seconds=max_seconds)
    raise AudioError(
        f"cannot use a {type(audio).__name__} as audio",
        hint="pass a file path, the file's bytes, or a numpy array with sample_rate",
    )


async def read_clip(
    audio: AudioInput,
    sample_rate: int | None = None,
    *,
    max_bytes: int = MAX_INPUT_BYTES,
    max_seconds: float = MAX_INPUT_SECONDS,
) -> AudioClip:
    """`to_clip` in a worker thread, for async code: the event loop never blocks on it.

    Cancelling the calling task stops waiting at once, even while a pipe has no writer or a slow
    decode runs: the thread is abandoned (a pipe read in it stops within 50 ms).

    Args:
        audio: As for `to_clip`.
        sample_rate: As for `to_clip`.
        max_bytes: As for `to_clip`.
        max_seconds: As for `to_clip`.

    Raises:
        AudioError: As for `to_clip`.
    """

    def work() -> AudioClip:
        return to_clip(audio, sample_rate, max_bytes=max_bytes, max_seconds=max_seconds)

    return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)


def check_clip(clip: AudioClip) -> None:
    """Check that a clip is what a chat server accepts, before it is recorded or sent.

    A clip built by hand (or loaded from a file) can hold anything; a server answers HTTP 400 to
    every request that carries a clip it cannot decode. This proves, from the header and the
    first and last frames (not a full decode, so it is fast), that `clip.data` decodes in the
    format `clip.format` names, is mono, and lasts `clip.duration_s` (within 5 ms).

    Args:
        clip: The clip to check.

    Raises:
        AudioError: Naming what is wrong.
    """
    hint = "build clips with to_clip, which always produces audio a server accepts"
    if clip.format not in _SERVER_FORMATS:
        raise AudioError(
            f"format {clip.format!r} is not one of {', '.join(_SERVER_FORMATS)}", hint=hint
        )
    duration = clip.duration_s
    if not (isinstance(duration, int | float) and math.isfinite(duration) and duration > 0):
        raise AudioError(
            f"duration_s must be a positive finite number, got {duration!r}", hint=hint
        )
    info = probe_audio(clip.data)
    if info.format != clip.format:
        raise AudioError(f"data is {info.format}, but the clip says {clip.format}", hint=hint)
    if info.channels != 1:
        raise AudioError(f"{info.channels} channels; chat servers take mono audio only", hint=hint)
    if abs(info.duration_s - duration) > _DURATION_TOLERANCE_S:
        raise AudioError(
            f"duration_s says {duration:g} s, but the audio lasts {info.duration_s:.3f} s",
            hint=hint,
        )


def check_duration(seconds: float, max_seconds: float, *, source: str = "the audio") -> None:
    """Raise `AudioError` when `seconds` of audio is more than `max_seconds`.

    Args:
        seconds: The audio's length.
        max_seconds: The limit.
        source: Names the audio in the message.

    Raises:
        AudioError: Over the limit.
    """
    if seconds > max_seconds:
        raise AudioError(
            f"{source} is {seconds:.0f} s long, over the {max_seconds:.0f} s limit",
            hint="split it into shorter clips, or raise max_seconds if the server takes it",
        )


def clip_from_samples(samples: npt.ArrayLike, sample_rate: int) -> AudioClip:
    """Encode samples at any rate/channel count as a 16 kHz mono WAV clip.

    Args:
        samples: 1-D, (frames, channels) or (channels, frames) (see `to_frames_channels`).
        sample_rate: Their rate in Hz, a whole number.

    Raises:
        AudioError: Empty or non-finite samples, an unusable dtype/shape or sample rate.
    """
    return _encode(to_frames_channels(samples), check_sample_rate(sample_rate))


def _encode(samples: npt.ArrayLike, sample_rate: int) -> AudioClip:
    return AudioClip(*_encode_wav(samples, sample_rate))


def _encode_wav(samples: npt.ArrayLike, sample_rate: int) -> tuple[bytes, str, float]:
    # `samples` is 1-D or (frames, channels) here: decoded files are, and user arrays went
    # through to_frames_channels. Returns the WAV, its format name and its length, not a clip:
    # a clip base64-encodes its file at once, wasted when the caller keeps the original file.
    mono = to_mono(to_float32(samples))
    if mono.size == 0:
        raise AudioError("the audio is empty (0 samples)", hint="pass at least some samples")
    check_finite(mono)
    audio16k = resample(mono, sample_rate, SAMPLE_RATE)
    if audio16k.size == 0:
        raise AudioError(
            f"the audio is too short: {mono.size} samples at {sample_rate} Hz is less than one"
            " sample at 16 kHz",
            hint="pass longer audio, and check sample_rate",
        )
    return encode_wav(audio16k), "wav", audio16k.size / SAMPLE_RATE


def _check_size(size: int, max_bytes: int, *, source: str) -> None:
    if size > max_bytes:
        raise AudioError(
            f"{source} is over the {max_bytes / 1e6:.0f} MB input limit",
            hint="pass a shorter or compressed recording, or raise max_bytes",
        )


def _read_file(path: Path, max_bytes: int) -> bytes:
    if path.is_dir():
        raise AudioError(f"{path} is a directory, not an audio file", hint="pass a file's path")
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise block until a writer appears,
        # with no way to stop it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise AudioError(f"audio file not found: {path}", hint="check the path") from None
    except OSError as exc:
        raise AudioError(f"cannot read {path}: {exc.strerror}", hint="check permissions") from exc
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            _check_size(info.st_size, max_bytes, source=str(path))
        return _read_bounded(fd, path, max_bytes, regular=stat.S_ISREG(info.st_mode))
    except OSError as exc:
        raise AudioError(f"cannot read {path}: {exc.strerror}", hint="check permissions") from exc
    finally:
        os.close(fd)


def _read_bounded(fd: int, path: Path, max_bytes: int, *, regular: bool) -> bytes:
    """Read `fd` to its end, at most `max_bytes`, checking for cancellation while a pipe waits."""
    chunks: list[bytes] = []
    total = 0
    while True:
        if not regular:
            # A pipe with no writer yet is not readable; wait in short slices so that a cancelled
            # caller is noticed.
            _raise_if_cancelled()
            readable, _, _ = select.select([fd], [], [], _POLL_S)
            if not readable:
                continue
        try:
            chunk = os.read(fd, min(_READ_BLOCK, max_bytes + 1 - total))
        except BlockingIOError:
            continue
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                continue
            raise
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            _check_size(total, max_bytes, source=str(path))


def _raise_if_cancelled() -> None:
    try:
        anyio.from_thread.check_cancelled()
    except RuntimeError:
        pass  # not in an anyio worker thread: nobody can cancel this call but its own thread


def _clip_from_bytes(data: bytes, *, source: str, max_seconds: float) -> AudioClip:
    frames = is_chat_ready_wav(data)
    if frames is not None:  # 16-bit samples are always finite: nothing to check or convert
        check_duration(frames / SAMPLE_RATE, max_seconds, source=source)
        return AudioClip(data, "wav", frames / SAMPLE_RATE)
    _check_header_duration(data, max_seconds, source=source)
    try:
        samples, rate, fmt = decode_audio(data)
    except AudioError as exc:
        raise AudioError(f"{source}: {exc.message}", hint=exc.hint) from exc
    if samples.shape[0] == 0:
        raise AudioError(f"{source}: the audio has no samples", hint="record or pass longer audio")
    check_finite(samples)
    try:
        wav, wav_format, duration_s = _encode_wav(samples, check_sample_rate(rate))
    except AudioError as exc:
        raise AudioError(f"{source}: {exc.message}", hint=exc.hint) from exc
    if fmt in _PASS_THROUGH and samples.shape[1] == 1 and len(data) < len(wav):
        return AudioClip(data, fmt, samples.shape[0] / rate)
    return AudioClip(wav, wav_format, duration_s)


def _check_header_duration(data: bytes, max_seconds: float, *, source: str) -> None:
    # Decoding a 200 MB mp3 would take gigabytes of samples: refuse long audio from its header.
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            frames, rate = f.frames, f.samplerate
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return  # not readable: decode_audio reports it with its own message
    if rate > 0:
        check_duration(frames / rate, max_seconds, source=source)
