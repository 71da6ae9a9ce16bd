"""Sample conversions in one place: dtype, down-mix, resampling, PCM bytes and WAV encoding.

Everything inside voxagent works on float32 mono 16 kHz samples in [-1, 1]; these helpers are the
only way audio gets into (and out of) that shape, so the exactness tests cover every path.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from voxagent.errors import AudioError

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SAMPLE_RATE",
    "AudioInfo",
    "Float32Array",
    "StreamResampler",
    "check_finite",
    "check_sample_rate",
    "decode_audio",
    "encode_wav",
    "float_to_pcm16",
    "pcm16_to_float",
    "probe_audio",
    "resample",
    "to_float32",
    "to_frames_channels",
    "to_int16",
    "to_mono",
]

SAMPLE_RATE = 16000
"""The rate every voxagent frame, utterance and clip uses (Voxtral's own rate)."""

MIN_SAMPLE_RATE = 1_000
"""The lowest sample rate accepted, in Hz (below it, resampling makes no speech)."""

MAX_SAMPLE_RATE = 768_000
"""The highest sample rate accepted, in Hz (the fastest audio interfaces; above it, a mistake)."""

# More channels than this, whichever axis they are on, is not audio a person recorded.
_MAX_CHANNELS = 64

Float32Array = npt.NDArray[np.float32]


def to_float32(samples: npt.ArrayLike) -> Float32Array:
    """Return samples as float32 in [-1, 1], scaling integer PCM by its full range.

    Args:
        samples: int16, int32, uint8 or floating point samples, any shape.

    Raises:
        AudioError: When the dtype is not audio (bool, complex, object) or floats hold NaN/inf.
    """
    array = np.asarray(samples)
    kind = array.dtype.kind
    if kind == "f":
        out = array.astype(np.float32, copy=False)
        check_finite(out)
        return out
    if array.dtype == np.int16:
        return array.astype(np.float32) / 32768.0
    if array.dtype == np.int32:
        return (array.astype(np.float64) / 2147483648.0).astype(np.float32)
    if array.dtype == np.uint8:
        # 8-bit PCM is unsigned with its zero at 128.
        return (array.astype(np.float32) - 128.0) / 128.0
    raise AudioError(
        f"cannot use an array of dtype {array.dtype} as audio",
        hint="pass float32/float64 samples in [-1, 1] or int16 PCM",
    )


def check_finite(samples: npt.NDArray[Any]) -> None:
    """Raise `AudioError` when float samples contain NaN or infinity."""
    if samples.size and not np.isfinite(samples).all():
        raise AudioError(
            "the audio contains NaN or infinite samples",
            hint="check the code that produced the array; replace bad values with np.nan_to_num",
        )


def to_int16(samples: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Return float samples as int16 PCM, clipping to [-1, 1] and rounding to nearest.

    The one float -> PCM16 scaling in voxagent (WAV encoding, raw PCM, the realtime protocols).
    """
    floats = to_float32(samples)
    # x 32768, the inverse of the / 32768 decoding of to_float32 (soundfile reads PCM16 alike):
    # int16 -> float -> int16 is then exact for every sample. x 32767 would shrink each sample
    # by 1/32768 on the way back (one LSB off for |x| > 16384 after rounding), so a clip would
    # change every time it is decoded and encoded again. The price is that +1.0 itself, which
    # int16 cannot hold, clips to 32767 (one LSB, -90 dB) while -1.0 maps to -32768 exactly.
    scaled = np.clip(floats.astype(np.float64) * 32768.0, -32768.0, 32767.0)
    return np.round(scaled).astype(np.int16)


def to_mono(samples: npt.ArrayLike) -> Float32Array:
    """Down-mix to one channel by averaging channels.

    Args:
        samples: 1-D (already mono) or 2-D shaped (frames, channels), as soundfile returns.
    """
    array = to_float32(samples)
    if array.ndim == 1:
        return array
    if array.ndim == 2:
        if array.shape[1] == 1:
            return np.asarray(array[:, 0], dtype=np.float32).copy()
        return np.asarray(array.mean(axis=1, dtype=np.float32), dtype=np.float32)
    raise AudioError(
        f"audio arrays must be 1-D or (frames, channels); got shape {array.shape}",
        hint="reshape to (frames, channels)",
    )


def to_frames_channels(samples: npt.ArrayLike) -> npt.NDArray[Any]:
    """Return a user's sample array as 1-D or (frames, channels), detecting (channels, frames).

    Libraries disagree on the layout: soundfile and sounddevice give (frames, channels), librosa
    and torchaudio give (channels, frames). A clip always has more frames than channels, so a 2-D
    array with more columns than rows, such as (2, 48000), is channels-first and is transposed
    (as a view). A square array is taken as (frames, channels). Nothing else is converted.

    Args:
        samples: 1-D, (frames, channels) or (channels, frames).

    Raises:
        AudioError: More than 2 dimensions, or more than 64 channels on either layout.
    """
    array = np.asarray(samples)
    if array.ndim == 1:
        return array
    if array.ndim != 2:
        raise AudioError(
            f"audio arrays must be 1-D, (frames, channels) or (channels, frames); got shape "
            f"{array.shape}",
            hint="pass one clip: mono samples, or one row/column per channel",
        )
    rows, columns = array.shape
    if rows < columns:
        array = array.T
    if array.shape[1] > _MAX_CHANNELS:
        raise AudioError(
            f"an audio array of shape {np.asarray(samples).shape} would have {array.shape[1]}"
            " channels",
            hint="pass (frames, channels) or (channels, frames) with at most 64 channels",
        )
    return array


def check_sample_rate(rate: object) -> int:
    """Return `rate` as an int after checking it is a usable sample rate in Hz.

    Whole-number floats (`44100.0`, as some device APIs report rates) are accepted.

    Args:
        rate: The sample rate given by the caller.

    Returns:
        The rate as an int.

    Raises:
        AudioError: Not a number, not a whole number, NaN/infinite, or outside
            `MIN_SAMPLE_RATE`..`MAX_SAMPLE_RATE`.
    """
    hint = (
        f"pass the samples' rate in Hz as an int between {MIN_SAMPLE_RATE} and"
        f" {MAX_SAMPLE_RATE}, e.g. sample_rate=16000 or 44100"
    )
    if isinstance(rate, bool) or not isinstance(rate, int | float | np.integer | np.floating):
        raise AudioError(f"sample rate must be a number of Hz, got {rate!r}", hint=hint)
    value = float(rate)
    if not math.isfinite(value) or value != int(value):
        raise AudioError(f"sample rate must be a whole number of Hz, got {rate!r}", hint=hint)
    if not MIN_SAMPLE_RATE <= value <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"sample rate {rate!r} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz", hint=hint
        )
    return int(value)


def resample(samples: npt.ArrayLike, from_rate: int, to_rate: int = SAMPLE_RATE) -> Float32Array:
    """Resample mono float samples in one go (soxr, high quality).

    Args:
        samples: 1-D float samples.
        from_rate: Their sample rate in Hz.
        to_rate: Wanted rate in Hz (16 kHz by default).
    """
    mono = to_mono(samples)
    from_rate = check_sample_rate(from_rate)
    if from_rate == to_rate or mono.size == 0:
        return mono
    return np.asarray(soxr.resample(mono, from_rate, to_rate, quality="HQ"), dtype=np.float32)


class StreamResampler:
    """Resample a mono stream chunk by chunk, keeping the filter state between chunks.

    Args:
        from_rate: Input rate in Hz; equal rates pass chunks through untouched.
        to_rate: Output rate in Hz.
    """

    def __init__(self, from_rate: int, to_rate: int = SAMPLE_RATE) -> None:
        from_rate = check_sample_rate(from_rate)
        self._stream: Any = None
        if from_rate != to_rate:
            self._stream = soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32")

    def process(self, chunk: Float32Array, last: bool = False) -> Float32Array:
        """Resample one chunk; pass `last=True` with the final chunk to flush the filter."""
        if self._stream is None:
            return chunk
        out = self._stream.resample_chunk(np.ascontiguousarray(chunk, dtype=np.float32), last=last)
        return np.asarray(out, dtype=np.float32).reshape(-1)


def pcm16_to_float(data: bytes, channels: int = 1) -> Float32Array:
    """Decode raw little-endian int16 PCM bytes to mono float32.

    Raises:
        AudioError: When the byte count is not a whole number of sample frames.
    """
    if channels < 1:
        raise AudioError(f"channels must be >= 1, got {channels}", hint="pass channels=1 or more")
    frame_bytes = 2 * channels
    if len(data) % frame_bytes:
        raise AudioError(
            f"{len(data)} bytes of PCM is not a whole number of {channels}-channel int16 frames",
            hint="raw PCM must be 16-bit little-endian; check channels and that nothing is cut",
        )
    pcm = np.frombuffer(data, dtype="<i2").astype(np.int16)
    return to_mono(pcm.reshape(-1, channels))


def float_to_pcm16(samples: npt.ArrayLike) -> bytes:
    """Encode float samples as raw little-endian int16 PCM bytes."""
    return to_int16(samples).astype("<i2").tobytes()


def encode_wav(samples: npt.ArrayLike, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Encode mono samples as a 16-bit PCM WAV file (what every server decodes)."""
    sample_rate = check_sample_rate(sample_rate)
    buffer = io.BytesIO()
    sf.write(buffer, to_int16(to_mono(samples)), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def is_chat_ready_wav(data: bytes) -> int | None:
    """Return the frame count when `data` is already a 16 kHz mono 16-bit WAV, else None.

    Only the header is read: such a file is exactly what `encode_wav` would produce, so it can go
    to the server as it is instead of being decoded and encoded again.
    """
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            layout = (f.format, f.subtype, f.samplerate, f.channels)
            frames = int(f.frames)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None
    return frames if layout == ("WAV", "PCM_16", SAMPLE_RATE, 1) and frames > 0 else None


def decode_audio(data: bytes) -> tuple[Float32Array, int, str]:
    """Decode an encoded file held in memory.

    Returns:
        (samples shaped (frames, channels) as float32, sample rate, lower-case format name).

    Raises:
        AudioError: When libsndfile cannot read it (corrupt, truncated, unsupported).
    """
    if not data:
        raise AudioError("the audio is empty (0 bytes)", hint="pass a non-empty wav/flac/ogg/mp3")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            samples = f.read(dtype="float32", always_2d=True)
            rate, fmt = int(f.samplerate), str(f.format).lower()
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        reason = getattr(exc, "error_string", None) or str(exc)  # str() names the BytesIO
        raise AudioError(
            f"cannot decode the audio: {reason}",
            hint="use wav, flac, ogg or mp3 (anything libsndfile reads); check it is not truncated",
        ) from exc
    return samples, rate, fmt


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What `probe_audio` found in an encoded file.

    Attributes:
        format: Lower-case container name as libsndfile reports it ("wav", "flac", "ogg", "mp3").
        sample_rate: Samples per second.
        channels: Channel count.
        frames: Sample frames (per channel).
    """

    format: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


# probe_audio decodes this many frames at each end of the file.
_PROBE_FRAMES = 2048


def probe_audio(data: bytes) -> AudioInfo:
    """Read an encoded file's header and decode its first and last frames, without decoding it all.

    This proves what a server needs before it is sent: the data is a file libsndfile (and so a
    Voxtral server) decodes, from its first sample to its last, with the length its header gives.

    Args:
        data: The encoded file.

    Returns:
        Its format, rate, channels and length.

    Raises:
        AudioError: Not audio, truncated, corrupt, or without samples.
    """
    hint = "use wav, flac, ogg or mp3 (anything libsndfile reads); check it is not truncated"
    if not data:
        raise AudioError("the audio is empty (0 bytes)", hint=hint)
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            info = AudioInfo(str(f.format).lower(), int(f.samplerate), int(f.channels), f.frames)
            if info.frames <= 0 or info.sample_rate <= 0:
                raise AudioError("the audio has no samples", hint=hint)
            head = f.read(min(info.frames, _PROBE_FRAMES), dtype="float32", always_2d=True)
            start = max(0, info.frames - _PROBE_FRAMES)
            f.seek(start)
            tail = f.read(info.frames - start, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        # LibsndfileError's str() names the BytesIO object; its error_string is the reason.
        reason = getattr(exc, "error_string", None) or str(exc)
        raise AudioError(f"cannot decode the audio: {reason}", hint=hint) from exc
    if head.shape[0] == 0 or tail.shape[0] != info.frames - start:
        raise AudioError(
            f"the audio is shorter than its header says ({info.frames} frames)", hint=hint
        )
    return info
