"""`WebSocketSource`: audio a browser (or any client) sends over a websocket, as frames.

The same contract as `Microphone`: the producer (the websocket's receive loop) never waits. It
hands each message to `feed`, which puts it into a bounded memory stream with `send_nowait`;
when the consumer (the endpointer) falls behind, messages are dropped and counted, and the next
frame carries the count (`Frame.dropped`, reported by `listen` as `AudioOverflow`). Stream time
comes from sample counts, the dropped audio's time included, never from the wall clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import numpy as np

from voxagent.audio.convert import SAMPLE_RATE, Float32Array, pcm16_to_float
from voxagent.audio.sources import Frame
from voxagent.errors import AudioError, ConfigurationError

__all__ = ["MAX_FRAME_BYTES", "WebSocketSource"]

MAX_FRAME_BYTES = 16_000
"""The largest audio message accepted: half a second of 16 kHz mono PCM16 (browsers send 20 ms)."""


class WebSocketSource:
    """16 kHz mono PCM16 messages from a websocket client, as an async iterable of frames.

    The connection's receive loop calls `feed(message)` for each binary message and `close()`
    when the client leaves; `listen` iterates the source. Iterations follow one another (a new
    `listen` after a mode change picks up where the last one stopped); stream time runs on
    across them, since the source started with the connection.

    Args:
        block_ms: Frame length in milliseconds.
        queue_frames: Messages buffered between the receive loop and the consumer; beyond that,
            messages are dropped and counted (`Frame.dropped`, `AudioOverflow`).
        max_frame_bytes: The largest message `feed` accepts.

    Attributes:
        live: Always True: a person speaking now (barge-in applies).
        dropped_frames: Frames dropped so far because the consumer fell behind.
    """

    live = True

    def __init__(
        self, *, block_ms: int = 20, queue_frames: int = 250, max_frame_bytes: int = MAX_FRAME_BYTES
    ) -> None:
        if not 1 <= block_ms <= 1000 or queue_frames < 1 or max_frame_bytes < 2:
            raise ConfigurationError(
                f"invalid websocket source settings (block_ms={block_ms}, "
                f"queue_frames={queue_frames}, max_frame_bytes={max_frame_bytes})",
                hint="use positive values, for example block_ms=20, queue_frames=250",
            )
        self.block_ms = block_ms
        self.queue_frames = queue_frames
        self.max_frame_bytes = max_frame_bytes
        self.dropped_frames = 0
        self._block = SAMPLE_RATE * block_ms // 1000
        self._send, self._receive = anyio.create_memory_object_stream[Float32Array](queue_frames)
        self._dropped_samples = 0  # dropped and not yet reported on a frame
        self._position = 0  # samples at 16 kHz since the source started, dropped ones included
        self._pending = np.zeros(0, dtype=np.float32)
        self._reported = 0  # dropped frames already carried by a frame
        self._iterating = False

    def __repr__(self) -> str:
        return f"WebSocketSource(block_ms={self.block_ms}, queue_frames={self.queue_frames})"

    def feed(self, data: bytes) -> None:
        """Take one message of 16 kHz mono little-endian int16 samples; never waits.

        Raises:
            AudioError: The message is larger than `max_frame_bytes` or not whole samples
                (nothing of it is kept; the caller tells the client).
        """
        if len(data) > self.max_frame_bytes:
            raise AudioError(
                f"an audio frame of {len(data)} bytes is over the limit of "
                f"{self.max_frame_bytes} bytes",
                hint=f"send 16 kHz mono PCM16 in frames of 20 ms ({SAMPLE_RATE // 50 * 2} bytes)",
            )
        samples = pcm16_to_float(data)  # AudioError on an odd byte count
        if not samples.size:
            return
        try:
            self._send.send_nowait(samples)
        except anyio.WouldBlock:
            self._dropped_samples += samples.size
            self.dropped_frames += max(1, round(samples.size / self._block))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # closed: the client has gone, nobody listens

    def close(self) -> None:
        """The client has gone: a running iteration ends once what was queued is read.

        With no iteration running, what was queued is dropped: nobody is listening any more.
        """
        self._send.close()
        if not self._iterating:
            self._receive.close()

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        if self._iterating:
            raise ConfigurationError(
                "a WebSocketSource was iterated twice at once",
                hint="one listen() per connection at a time",
            )
        self._iterating = True
        try:
            while True:
                try:
                    chunk = await self._receive.receive()
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    self._receive.close()
                    break
                if self._dropped_samples:
                    # The dropped audio still took time: later frames keep their place. A
                    # partial block before the gap is dropped with it (it has no continuation).
                    self._position += self._pending.size + self._dropped_samples
                    self._pending = np.zeros(0, dtype=np.float32)
                    self._dropped_samples = 0
                self._pending = (
                    np.concatenate((self._pending, chunk)) if self._pending.size else chunk
                )
                while self._pending.size >= self._block:
                    yield self._take(self._block)
            if self._pending.size:
                yield self._take(self._pending.size)
        finally:
            self._iterating = False

    def _take(self, size: int) -> Frame:
        samples, self._pending = self._pending[:size], self._pending[size:]
        lost, self._reported = self.dropped_frames - self._reported, self.dropped_frames
        frame = Frame(samples, self._position / SAMPLE_RATE, lost)
        self._position += size
        return frame
