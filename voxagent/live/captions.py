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

from voxagent.events import ErrorEvent, Event, TranscriptFinal

if TYPE_CHECKING:
    from voxagent.audio import AudioSource, Frame
    from voxagent.interfaces import LiveTranscriber

__all__ = ["CaptionTap", "PendingTranscript"]

logger = logging.getLogger("voxagent.captions")

# Frames kept from before speech was detected (the endpointer's own pre-roll is 300 ms).
_PRE_ROLL_FRAMES = 20
# Frames that may wait for the websocket; past this, captions skip audio rather than stall capture.
_QUEUE_FRAMES = 500


class PendingTranscript:
    """The final transcript of one utterance, once the transcriber has it.

    It travels with the utterance's `TurnInput`; the turn registers what to do with the text
    (`then`) instead of waiting for it, so a slow or failed transcriber never holds an answer.
    """

    def __init__(self) -> None:
        self.text: str | None = None
        self.done = anyio.Event()
        self._listeners: list[Callable[[str], None]] = []
        self._settled: list[Callable[[], None]] = []

    def resolve(self, text: str | None) -> None:
        """Set the final text (None: no transcript) and call whoever waits for it; once."""
        if self.done.is_set():
            return
        self.text = text or None
        self.done.set()
        listeners, self._listeners = self._listeners, []
        settled, self._settled = self._settled, []
        if self.text is not None:
            for listener in listeners:
                listener(self.text)
        for callback in settled:
            callback()

    @classmethod
    def joined(
        cls, first: PendingTranscript | None, then: PendingTranscript | None
    ) -> PendingTranscript | None:
        """The transcript of two utterances heard as one turn (`join_utterances`): both texts,
        once both are final; None when either has no live transcript (half a text would pass
        for the whole turn's)."""
        if first is None or then is None:
            return None
        both = cls()

        def settle() -> None:
            if first.done.is_set() and then.done.is_set():
                both.resolve(" ".join(text.strip() for text in (first.text, then.text) if text))

        for part in (first, then):
            if part.done.is_set():
                settle()
            else:
                part._settled.append(settle)
        return both

    def then(self, listener: Callable[[str], None]) -> None:
        """Call `listener(text)` when the transcript arrives (at once if it already has)."""
        if not self.done.is_set():
            self._listeners.append(listener)
        elif self.text is not None:
            listener(self.text)


class CaptionTap:
    """Feeds a realtime transcriber from a listen loop's frames; one utterance at a time.

    Args:
        transcriber: An entered `LiveTranscriber` (`RealtimeTranscriber`, `MLXTranscriber`, ...).
        emit: Where caption events go (the listen loop's event stream).
        task_group: Runs the per-utterance transcription tasks.
    """

    def __init__(
        self,
        transcriber: LiveTranscriber,
        emit: Callable[[Event], Awaitable[None]],
        task_group: anyio.abc.TaskGroup,
    ) -> None:
        self.transcriber = transcriber
        self.emit = emit
        self.task_group = task_group
        self._recent: deque[Frame] = deque(maxlen=_PRE_ROLL_FRAMES)
        self._send: MemoryObjectSendStream[Frame] | None = None
        self._busy = False
        self._failed = False

    async def frames(self, source: AudioSource) -> AsyncIterator[Frame]:
        """Yield `source`'s frames unchanged, copying them to the open utterance, if any."""
        try:
            async for frame in source:
                if self._send is not None:
                    try:
                        self._send.send_nowait(frame)
                    except anyio.WouldBlock:
                        pass  # never block capture for captions (the turn's audio is whole)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        # The transcription ended early (it failed): stop copying, keep
                        # capturing.
                        self._send.close()
                        self._send = None
                else:
                    self._recent.append(frame)
                yield frame
        finally:
            self.stop()  # capture ended mid-utterance: the transcriber commits what it has

    def start(self) -> PendingTranscript | None:
        """Speech started: open a caption stream. None when busy, or after captions failed."""
        if self._failed:
            return None
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
        text: str | None = None
        try:
            async with frames:
                async for event in self.transcriber.transcribe(frames):
                    if isinstance(event, TranscriptFinal):
                        text = event.text
                        # The turn may be waiting for it: resolve before anything can block.
                        pending.resolve(text)
                    await self.emit(event)
        except Exception as exc:
            # Captions are an extra: a failure degrades to no captions (said once), and the
            # turns go on with their audio. Anything, not only our own errors: a transcriber
            # is a plug-in point.
            self._failed = True
            logger.warning("live captions stopped: %s", exc, exc_info=exc)
            await self.emit(ErrorEvent.from_exception(exc, prefix="live captions stopped"))
        finally:
            self._busy = False
            pending.resolve(text)
