"""Live captions while the user speaks: audio taps into a realtime transcriber (Voxtral Realtime).

`listen` passes every captured frame through a `CaptionTap`. When the endpointer hears speech
start, the tap opens a stream for that utterance (with the last few hundred milliseconds before
the start, so the first syllable is captioned) and streams frames to the transcriber as they are
captured; when the utterance ends, the stream closes, the transcriber commits, and the final text
becomes the user turn's transcript, so compaction never needs an extra transcription request.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from voxagent.errors import VoxagentError
from voxagent.events import ErrorEvent, Event, TranscriptFinal

if TYPE_CHECKING:
    from voxagent.audio import AudioSource, Frame
    from voxagent.model.realtime import RealtimeTranscriber

__all__ = ["CaptionTap", "PendingTranscript"]

logger = logging.getLogger("voxagent.captions")

# Frames kept from before speech was detected (the endpointer's own pre-roll is 300 ms).
_PRE_ROLL_FRAMES = 20
# Frames that may wait for the websocket; past this, captions skip audio rather than stall capture.
_QUEUE_FRAMES = 500


class PendingTranscript:
    """The final transcript of one utterance, once the transcriber has it."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.done = anyio.Event()


class CaptionTap:
    """Feeds a realtime transcriber from a listen loop's frames; one utterance at a time.

    Args:
        transcriber: An entered `RealtimeTranscriber`.
        emit: Where caption events go (the listen loop's event stream).
        task_group: Runs the per-utterance transcription tasks.
    """

    def __init__(
        self,
        transcriber: RealtimeTranscriber,
        emit: Callable[[Event], Awaitable[None]],
        task_group: anyio.abc.TaskGroup,
    ) -> None:
        self.transcriber = transcriber
        self.emit = emit
        self.task_group = task_group
        self._recent: deque[Frame] = deque(maxlen=_PRE_ROLL_FRAMES)
        self._send: MemoryObjectSendStream[Frame] | None = None
        self._busy = False
        self.skipped_frames = 0

    async def frames(self, source: AudioSource) -> AsyncIterator[Frame]:
        """Yield `source`'s frames unchanged, copying them to the open utterance, if any."""
        async for frame in source:
            if self._send is not None:
                try:
                    self._send.send_nowait(frame)
                except anyio.WouldBlock:
                    self.skipped_frames += 1  # never block capture for captions
            else:
                self._recent.append(frame)
            yield frame

    def start(self) -> PendingTranscript | None:
        """Speech started: open a caption stream. None when the previous one is still busy."""
        if self._busy or self._send is not None:
            logger.debug("captions skipped: the previous utterance is still being transcribed")
            return None
        send, receive = anyio.create_memory_object_stream["Frame"](_QUEUE_FRAMES)
        for frame in self._recent:
            send.send_nowait(frame)
        self._recent.clear()
        self._send = send
        self._busy = True
        pending = PendingTranscript()
        self.task_group.start_soon(self._run, receive, pending)
        return pending

    def stop(self) -> None:
        """The utterance ended: closing its stream makes the transcriber commit."""
        if self._send is not None:
            self._send.close()
            self._send = None

    async def _run(
        self, frames: MemoryObjectReceiveStream[Frame], pending: PendingTranscript
    ) -> None:
        try:
            async with frames:
                async for event in self.transcriber.transcribe(frames):
                    await self.emit(event)
                    if isinstance(event, TranscriptFinal):
                        pending.text = event.text
        except VoxagentError as exc:
            await self.emit(
                ErrorEvent(message=exc.message, error_type=type(exc).__name__, hint=exc.hint)
            )
        finally:
            self._busy = False
            pending.done.set()
