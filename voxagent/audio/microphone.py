"""`Microphone`: live capture through sounddevice (PortAudio), as an async iterable of frames.

PortAudio calls us on its own thread. The callback copies the block and schedules its delivery on
the event loop with the loop's non-blocking thread-safe call (asyncio `call_soon_threadsafe`, trio
`run_sync_soon`); a semaphore bounds the blocks in flight, and delivery uses `send_nowait` into a
bounded memory object stream. The callback therefore never waits: when the consumer falls behind,
blocks are dropped and counted, and the next frame carries the count (`Frame.dropped`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
import numpy as np

from voxagent.audio.convert import SAMPLE_RATE, Float32Array, StreamResampler, to_mono
from voxagent.audio.sources import Frame
from voxagent.distribution import pip_install
from voxagent.errors import AudioError

__all__ = ["InputDevice", "Microphone", "list_input_devices", "load_sounddevice"]

logger = logging.getLogger("voxagent.audio")


@dataclass(frozen=True, slots=True)
class InputDevice:
    """An audio input as PortAudio lists it.

    Attributes:
        index: PortAudio's device index (pass it as `Microphone(device=index)`).
        name: Device name (also accepted as `device=`).
        channels: Maximum input channels.
        default_sample_rate: The device's preferred rate in Hz.
        is_default: True for the system's default input.
    """

    index: int
    name: str
    channels: int
    default_sample_rate: float
    is_default: bool

    def __str__(self) -> str:
        default = "  (default)" if self.is_default else ""
        return (
            f"{self.index}: {self.name}  {self.channels} ch, "
            f"{self.default_sample_rate:g} Hz{default}"
        )


def load_sounddevice() -> Any:
    """Import sounddevice, turning a missing package or PortAudio library into `AudioError`."""
    try:
        import sounddevice
    except ImportError as exc:
        raise AudioError(
            "microphone support is not installed (no module 'sounddevice')",
            hint=pip_install("mic"),
        ) from exc
    except OSError as exc:
        raise AudioError(
            f"the PortAudio library is missing: {exc}",
            hint="apt-get install libportaudio2 (Debian/Ubuntu) or brew install portaudio (macOS)",
        ) from exc
    return sounddevice


def list_input_devices(backend: Any = None) -> list[InputDevice]:
    """Return the inputs PortAudio can record from (what `voxagent devices` prints).

    Args:
        backend: The sounddevice module (injected by tests); imported when None.
    """
    sd = backend or load_sounddevice()
    try:
        devices = list(sd.query_devices())
        default_in = sd.default.device[0]
    except Exception as exc:  # PortAudio raises bare errors on broken hosts
        raise AudioError(
            f"cannot list audio devices: {exc}", hint="check the sound system is running"
        ) from exc
    return [
        InputDevice(
            index=i,
            name=str(d["name"]),
            channels=int(d["max_input_channels"]),
            default_sample_rate=float(d["default_samplerate"]),
            is_default=i == default_in,
        )
        for i, d in enumerate(devices)
        if int(d["max_input_channels"]) > 0
    ]


class Microphone:
    """Live audio from an input device, converted to 16 kHz mono frames.

    Iterate it (`async for frame in Microphone()`) or hand it to `segment`/`utterances`. Each
    iteration opens the device and closes it when the loop ends, is cancelled or fails.

    Args:
        device: PortAudio device index or name (substring); the default input when None.
        sample_rate: Rate to open the device at; converted to 16 kHz (soxr, streaming).
        channels: Channels to open; down-mixed to mono.
        block_ms: Frame length in milliseconds.
        queue_frames: Frames buffered between the capture thread and the consumer; beyond
            that, frames are dropped and counted (`Frame.dropped`, `AudioOverflow`).
        stall_timeout_s: Raise `AudioError` when the device delivers nothing for this long (a
            stuck device otherwise waits forever); None disables.
        backend: The sounddevice module (tests pass a fake); imported when None.
    """

    def __init__(
        self,
        device: int | str | None = None,
        sample_rate: int = SAMPLE_RATE,
        channels: int = 1,
        block_ms: int = 20,
        queue_frames: int = 250,
        *,
        stall_timeout_s: float | None = 5.0,
        backend: Any = None,
    ) -> None:
        if sample_rate <= 0 or channels < 1 or not 1 <= block_ms <= 1000 or queue_frames < 1:
            raise AudioError(
                "invalid microphone settings "
                f"(sample_rate={sample_rate}, channels={channels}, block_ms={block_ms}, "
                f"queue_frames={queue_frames})",
                hint="use positive values, for example Microphone(sample_rate=16000, channels=1)",
            )
        self.device = device
        self.sample_rate = sample_rate
        self.channels = channels
        self.block_ms = block_ms
        self.queue_frames = queue_frames
        self.stall_timeout_s = stall_timeout_s
        self._backend = backend
        self.dropped_frames = 0
        """Frames dropped since the last iteration started (the consumer fell behind)."""

    def __repr__(self) -> str:
        return f"Microphone(device={self.device!r}, sample_rate={self.sample_rate})"

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        sd = self._backend or load_sounddevice()
        capture = _Capture(self.queue_frames)
        device_block = max(1, self.sample_rate * self.block_ms // 1000)
        try:
            stream = await anyio.to_thread.run_sync(self._open, sd, device_block, capture.callback)
        except BaseException:
            capture.close()
            raise
        self.dropped_frames = 0
        resampler = StreamResampler(self.sample_rate)
        block = SAMPLE_RATE * self.block_ms // 1000
        pending = np.zeros(0, dtype=np.float32)
        position = 0  # samples at 16 kHz, including the time of dropped frames
        reported = 0
        try:
            while True:
                data = await self._receive(capture)
                if data is None:
                    return
                pending = np.concatenate((pending, resampler.process(to_mono(data))))
                lost = capture.dropped - reported
                reported = capture.dropped
                self.dropped_frames = reported
                position += lost * block
                while pending.size >= block:
                    yield Frame(pending[:block], position / SAMPLE_RATE, lost)
                    position += block
                    pending = pending[block:]
                    lost = 0
        finally:
            capture.close()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_close, stream)

    async def _receive(self, capture: _Capture) -> Float32Array | None:
        if self.stall_timeout_s is None:
            return await capture.receive()
        with anyio.move_on_after(self.stall_timeout_s):
            return await capture.receive()
        raise AudioError(
            f"the microphone delivered no audio for {self.stall_timeout_s:g} s",
            hint="check the device is not muted or suspended (pactl list sources short)",
        )

    def _open(self, sd: Any, blocksize: int, callback: Callable[..., None]) -> Any:
        try:
            stream = sd.InputStream(
                device=self.device,
                samplerate=self.sample_rate,
                channels=self.channels,
                dtype="float32",
                blocksize=blocksize,
                callback=callback,
            )
            stream.start()
        except ValueError as exc:  # sounddevice: no such device, or several match a name
            raise AudioError(
                f"no usable input device {self.device!r}: {exc}",
                hint="run `voxagent devices` and pass Microphone(device=INDEX)",
            ) from exc
        except Exception as exc:  # sd.PortAudioError: busy, bad rate, no host
            if not _has_input_device(sd):
                # "Close other programs using it" would send people looking for a culprit.
                raise AudioError(
                    f"no input device: PortAudio lists no microphone ({exc})",
                    hint="connect or enable a microphone (see `voxagent devices`), or use "
                    "--audio FILE / AudioFile(...)",
                ) from exc
            raise AudioError(
                f"cannot open the microphone ({self.device or 'default'}): {exc}",
                hint="close other programs using it, or pick another device/sample_rate "
                "(`voxagent devices`)",
            ) from exc
        return stream


def _has_input_device(sd: Any) -> bool:
    try:
        return any(int(d["max_input_channels"]) > 0 for d in sd.query_devices())
    except Exception:  # cannot even list: say what failed to open, not that nothing exists
        return True


class _Capture:
    """The non-blocking bridge from PortAudio's callback thread into the event loop."""

    def __init__(self, queue_frames: int) -> None:
        native = anyio.lowlevel.current_token().native_token
        # asyncio's loop and trio's token both offer a non-blocking, thread-safe "call soon".
        call_soon = getattr(native, "call_soon_threadsafe", None)
        if call_soon is None:  # trio's TrioToken
            call_soon = native.run_sync_soon  # type: ignore[attr-defined]
        self._call_soon: Callable[..., Any] = call_soon
        self._slots = threading.Semaphore(queue_frames)
        self._send, self._recv = anyio.create_memory_object_stream[Float32Array](queue_frames)
        self._callback_drops = 0  # written by the callback thread only
        self._loop_drops = 0  # written by the loop thread only
        # PortAudio's own input overflows (the driver lost audio before calling back): one lost
        # block each, as far as anyone can tell (written by the callback thread only).
        self._device_overflows = 0

    @property
    def dropped(self) -> int:
        """Blocks lost so far: in the driver, or on either side of the handoff."""
        return self._device_overflows + self._callback_drops + self._loop_drops

    def callback(self, indata: Any, frames: int, time: Any, status: Any) -> None:
        """PortAudio's callback: copy and hand over, never wait."""
        if status and getattr(status, "input_overflow", False):
            self._device_overflows += 1
        if not self._slots.acquire(blocking=False):
            self._callback_drops += 1
            return
        try:
            self._call_soon(self._deliver, np.array(indata, dtype=np.float32))
        except RuntimeError:  # the loop is closed: the stream is about to be stopped
            self._slots.release()

    def _deliver(self, data: Float32Array) -> None:
        self._slots.release()
        try:
            self._send.send_nowait(data)
        except anyio.WouldBlock:
            self._loop_drops += 1
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    async def receive(self) -> Float32Array | None:
        try:
            return await self._recv.receive()
        except anyio.EndOfStream:
            return None

    def close(self) -> None:
        self._send.close()
        self._recv.close()


def _close(stream: Any) -> None:
    """Stop and close the stream; never raise.

    Once a device is unplugged PortAudio fails `stop()` and `close()` too ("Device
    unavailable"). That error would replace the one that says what happened (the stall timeout's
    `AudioError`), and there is nothing left to release, so it is only logged.
    """
    for step in (stream.stop, stream.close):
        try:
            step()
        except Exception as exc:  # sd.PortAudioError, whatever the host API reports
            logger.debug("closing the input stream failed: %s", exc)
