"""Sample conversions in one place: dtype, down-mix, resampling, PCM bytes and WAV encoding.

Everything inside voxagent works on float32 mono 16 kHz samples in [-1, 1]; these helpers are the
only way audio gets into (and out of) that shape, so the exactness tests cover every path.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from voxagent.errors import AudioError

__all__ = [
    "SAMPLE_RATE",
    "Float32Array",
    "StreamResampler",
    "check_finite",
    "decode_audio",
    "encode_wav",
    "float_to_pcm16",
    "pcm16_to_float",
    "resample",
    "to_float32",
    "to_int16",
    "to_mono",
]

SAMPLE_RATE = 16000
"""The rate every voxagent frame, utterance and clip uses (Voxtral's own rate)."""

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
    """Return float samples as int16 PCM, clipping to [-1, 1] and rounding to nearest."""
    floats = to_float32(samples)
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


def resample(samples: npt.ArrayLike, from_rate: int, to_rate: int = SAMPLE_RATE) -> Float32Array:
    """Resample mono float samples in one go (soxr, high quality).

    Args:
        samples: 1-D float samples.
        from_rate: Their sample rate in Hz.
        to_rate: Wanted rate in Hz (16 kHz by default).
    """
    mono = to_mono(samples)
    _check_rate(from_rate)
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
        _check_rate(from_rate)
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
    _check_rate(sample_rate)
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
        raise AudioError(
            f"cannot decode the audio: {exc}",
            hint="use wav, flac, ogg or mp3 (anything libsndfile reads); check it is not truncated",
        ) from exc
    return samples, rate, fmt


def _check_rate(rate: int) -> None:
    if rate <= 0:
        raise AudioError(f"sample rate must be positive, got {rate}", hint="pass the rate in Hz")
