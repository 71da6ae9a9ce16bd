"""Live transcription over a realtime websocket: Voxtral Realtime on vLLM, or Mistral's hosted API.

    async with RealtimeTranscriber("http://127.0.0.1:8000/v1", "voxtral-realtime") as rt:
        async for event in rt.transcribe(AudioFile("cmd.wav", realtime=True)):
            match event:
                case TranscriptDelta(text=text):
                    print(text, end="", flush=True)
                case TranscriptFinal(text=text):
                    print()

Three tasks share the work of one utterance, all inside the transcriber's own task group: a pump
pulls frames from the source into a bounded queue (when it is full the pump stops pulling, so
back-pressure reaches the source), a sender turns queued audio into append messages, and a reader
turns server messages into items of a bounded per-connection stream that `transcribe` consumes.
A dropped socket is reopened (bounded attempts) and the utterance's audio replayed from the start,
so the server's transcript stays whole; deltas already yielded are not repeated.

Opening the socket with retries lives in `voxagent.realtime.connector` (the HTTP client's
`RetryPolicy` and bearer header), the session handshake in `voxagent.realtime.handshake`, the
three tasks in `voxagent.realtime.connection`, and `print_live_captions` (re-exported here) in
`voxagent.realtime.live_captions`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Sequence
from contextlib import AsyncExitStack, aclosing
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
from websockets.asyncio.client import connect as ws_connect

from voxagent.client.errors import Redactor
from voxagent.clock import Clock, Sleep
from voxagent.errors import ConfigurationError, ServerUnavailableError, VoxagentError
from voxagent.events import TranscriptDelta, TranscriptFinal
from voxagent.realtime.audio import RealtimeTimings, RealtimeUtterance
from voxagent.realtime.connection import (
    Connection,
    Dropped,
    Failed,
    FinalSent,
    Item,
    WebSocketLike,
    pump,
    send_audio,
)
from voxagent.realtime.connector import ConnectFn, Connector, reconnect_policy
from voxagent.realtime.live_captions import print_live_captions
from voxagent.realtime.protocol import (
    MISTRAL_REALTIME,
    VLLM_REALTIME,
    MistralRealtimeProtocol,
    RealtimeProtocol,
    ServerDelta,
    ServerDone,
    ServerErrorEvent,
    ServerSessionUpdated,
    ServerTurn,
    realtime_error,
)

__all__ = [
    "MISTRAL_REALTIME",
    "MISTRAL_REALTIME_MODEL",
    "VLLM_REALTIME",
    "RealtimeEvent",
    "RealtimeTimings",
    "RealtimeTranscriber",
    "WebSocketLike",
    "mistral_realtime_transcriber",
    "print_live_captions",
]

RealtimeEvent = TranscriptDelta | TranscriptFinal
"""What `RealtimeTranscriber.transcribe` yields."""


class _DroppedError(Exception):
    pass


class RealtimeTranscriber:
    """A realtime transcription session: one websocket, many utterances, one at a time.

    Args:
        base_url: The server's OpenAI-style base URL ("http://host:port/v1" becomes
            "ws://host:port/v1/realtime" for vLLM).
        model: The model name the server serves.
        protocol: `VLLM_REALTIME` (default) or `MISTRAL_REALTIME`.
        api_key: Sent as a bearer token when given. Credentials in `base_url` (user:password@,
            sent as Basic auth) and an api_key together are a `ConfigurationError`.
        connect: Opens a websocket: called as `connect(url, additional_headers=...,
            open_timeout=...)`; defaults to `websockets.asyncio.client.connect`.
        max_reconnects: Reopen attempts after a dropped socket (per utterance) or a failed open.
        reconnect_delay: First pause before reopening, doubled on each attempt (at most 2 s).
        send_queue_frames: Frames held between the source and the socket; when full, the
            transcriber stops pulling from the source until the socket catches up.
        replay_seconds: Audio kept per utterance to replay after a drop; a drop later than
            that in one utterance raises instead of reconnecting.
        open_timeout: Seconds to open the socket and get `session.created`.
        done_timeout: Seconds to wait for the final transcript after the final commit.
        clock: Returns the current time in seconds (for `last_timings`).
        sleep: Waits between reconnect attempts (`anyio.sleep`; inject one so tests do not wait).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        protocol: RealtimeProtocol = VLLM_REALTIME,
        api_key: str | None = None,
        connect: ConnectFn = ws_connect,
        max_reconnects: int = 3,
        reconnect_delay: float = 0.2,
        send_queue_frames: int = 256,
        replay_seconds: float = 120.0,
        open_timeout: float = 10.0,
        done_timeout: float = 30.0,
        clock: Clock = anyio.current_time,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        connect_url = protocol.url(base_url, model)
        self.model = model
        self.protocol = protocol
        self._redact = Redactor.for_connection(connect_url, api_key)
        self._retry = reconnect_policy(max_reconnects, reconnect_delay)
        self._sleep = sleep
        self._connector = Connector(
            connect_url,
            model,
            protocol,
            api_key=api_key,
            redact=self._redact,
            connect=connect,
            retry=self._retry,
            open_timeout=open_timeout,
            sleep=sleep,
        )
        self.url = self._connector.url
        """The websocket URL, as messages show it (without credentials)."""
        self._queue_frames = send_queue_frames
        self._replay_bytes = int(replay_seconds * 32_000)
        self._done_timeout = done_timeout
        self._clock = clock
        self._stack: AsyncExitStack | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._busy = False
        self.last_timings: RealtimeTimings | None = None
        """Timings of the last completed utterance."""
        self.last_turns: list[ServerTurn] = []
        """Server-side turn detection events of the last utterance (Mistral's API with
        `turn_detection`), in order."""

    @property
    def connections_opened(self) -> int:
        """Websockets opened so far (reconnects included)."""
        return self._connector.opened

    async def __aenter__(self) -> RealtimeTranscriber:
        stack = AsyncExitStack()
        self._tg = tg = await stack.enter_async_context(anyio.create_task_group())
        stack.push_async_callback(self._shutdown)
        try:
            await self._connector.open(tg)
        except BaseException as exc:
            await self._close_stack(stack)
            if isinstance(exc, VoxagentError):
                self._redact.error(exc)
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await self._close_stack(stack)

    async def _close_stack(self, stack: AsyncExitStack) -> None:
        # The caller's exception is not handed to the task group (it would come out wrapped in
        # an ExceptionGroup); the background tasks never fail, they report through streams.
        await stack.aclose()
        self._tg = None

    async def _shutdown(self) -> None:
        await self._connector.drop()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()

    async def transcribe(self, source: AsyncIterable[Any]) -> AsyncIterator[RealtimeEvent]:
        """Stream one utterance from `source` and yield its transcript as it arrives.

        Audio is sent as it is produced (pace a file with a real-time source for live captions,
        or pass it unpaced to transcribe as fast as possible); the utterance ends when the source
        does. Yields `TranscriptDelta`s (never empty) then one `TranscriptFinal` with the server's
        whole transcript. After a reconnect the final text may differ from the joined deltas.

        Args:
            source: Frames (objects with `.samples`), float32 or int16 numpy arrays, or PCM16LE
                bytes, mono at 16 kHz.

        Raises:
            RealtimeError: The server reported an error (`.code` says which; `model_not_found`
                is a `RealtimeModelNotFoundError`), or no final transcript within done_timeout.
            ServerUnavailableError: The socket dropped more than max_reconnects times.
            AudioError: The source yielded audio that is not mono 16 kHz.
        """
        try:
            async with aclosing(self._transcribe(source)) as events:
                async for event in events:
                    yield event
        except VoxagentError as exc:
            # Server messages, dropped-socket reasons and URLs may echo the key or a password.
            self._redact.error(exc)
            raise

    async def _transcribe(self, source: AsyncIterable[Any]) -> AsyncGenerator[RealtimeEvent, None]:
        tg = self._tg
        if tg is None:
            raise ConfigurationError(
                "RealtimeTranscriber used outside `async with`",
                hint="Write `async with RealtimeTranscriber(...) as rt:` around the calls.",
            )
        if self._busy:
            raise ConfigurationError(
                "RealtimeTranscriber.transcribe called while another utterance is streaming",
                hint="Finish (or close) the previous transcribe() first; one utterance at a time.",
            )
        self._busy = True
        self.last_turns = []
        utt = RealtimeUtterance(self._replay_bytes)
        queue_in, queue_out = anyio.create_memory_object_stream[bytes](self._queue_frames)
        pump_scope = anyio.CancelScope()
        tg.start_soon(pump, source, queue_in, utt, pump_scope)
        finished = False
        reconnects = 0
        try:
            while True:
                conn = await self._connector.ensure(tg)
                sender = anyio.CancelScope()
                tg.start_soon(send_audio, conn, self.protocol, queue_out, utt, self._clock, sender)
                try:
                    async with aclosing(self._events(conn, utt)) as events:
                        async for event in events:
                            if isinstance(event, TranscriptFinal):
                                self.last_timings = utt.timings(self._clock(), reconnects)
                                finished = True
                            yield event
                    break
                except _DroppedError as exc:
                    reconnects += 1
                    await self._connector.drop()
                    if reconnects >= self._retry.max_attempts:
                        raise ServerUnavailableError(
                            f"realtime websocket {self.url} dropped {reconnects} times "
                            f"in one utterance ({exc})",
                            hint="Check the server and the network; raise max_reconnects for a "
                            "flaky link.",
                        ) from None
                    if utt.overflowed:
                        raise ServerUnavailableError(
                            f"realtime websocket {self.url} dropped after more audio than "
                            "replay_seconds keeps, so the utterance cannot be resent",
                            hint="Raise replay_seconds, or end utterances sooner.",
                        ) from None
                    utt.restart()
                    await self._sleep(self._retry.delay(reconnects))
                finally:
                    sender.cancel()
        finally:
            pump_scope.cancel()
            queue_out.close()
            if not finished or not self.protocol.reuses_connection:
                # The server may still be generating for this utterance: start clean next time.
                with anyio.CancelScope(shield=True):
                    await self._connector.drop()
            self._busy = False

    async def transcribe_text(self, source: AsyncIterable[Any]) -> str:
        """Stream one utterance from `source` and return its final transcript."""
        text = ""
        async for event in self.transcribe(source):
            if isinstance(event, TranscriptFinal):
                text = event.text
        return text

    async def _events(
        self, conn: Connection, utt: RealtimeUtterance
    ) -> AsyncGenerator[RealtimeEvent, None]:
        deadline = float("inf")
        while True:
            item: Item | None = None
            with anyio.move_on_after(deadline - anyio.current_time()):
                try:
                    item = await conn.items.receive()
                except anyio.EndOfStream:
                    item = Dropped("connection closed")
            match item:
                case None:
                    raise realtime_error(
                        "timeout",
                        f"no final transcript {self._done_timeout:g} s after the final commit",
                    )
                case ServerDelta(text=text):
                    utt.mark_delta(self._clock())
                    new = utt.accept(text)
                    if new:
                        yield TranscriptDelta(new)
                case ServerDone(text=text):
                    yield TranscriptFinal(text)
                    return
                case ServerErrorEvent(code=code, message=message):
                    raise realtime_error(code, message)
                case ServerTurn():
                    self.last_turns.append(item)
                case ServerSessionUpdated():
                    pass  # already confirmed when the connection opened
                case FinalSent():
                    utt.final_commit = self._clock()
                    deadline = anyio.current_time() + self._done_timeout
                case Dropped(reason=reason):
                    raise _DroppedError(reason)
                case Failed(error=error):
                    raise error


MISTRAL_REALTIME_MODEL = "voxtral-mini-transcribe-realtime-3"
"""Mistral's hosted realtime model (Voxtral Mini Transcribe Realtime 3, since 2026-10-20)."""


def mistral_realtime_transcriber(
    api_key: str,
    model: str = MISTRAL_REALTIME_MODEL,
    *,
    base_url: str = "https://api.mistral.ai/v1",
    language: str | None = None,
    turn_detection: dict[str, Any] | None = None,
    target_streaming_delay_ms: int | None = None,
    context_bias: Sequence[str] | None = None,
    **options: Any,
) -> RealtimeTranscriber:
    """Return a transcriber for Mistral's hosted realtime API (one utterance per connection).

    Args:
        api_key: The Mistral API key (`MISTRAL_API_KEY`).
        model: A hosted realtime transcription model.
        base_url: The API's base URL.
        language: ISO 639-1 code of the speech (None: detected).
        turn_detection: Server-side turn detection (`{}`: the API's defaults); its events land
            in `transcriber.last_turns`. None: off.
        target_streaming_delay_ms: The latency/accuracy trade-off (None: the API's default).
        context_bias: Words and phrases to favour.
        **options: Any other `RealtimeTranscriber` keyword argument.
    """
    protocol = MistralRealtimeProtocol(
        language=language,
        turn_detection=turn_detection,
        target_streaming_delay_ms=target_streaming_delay_ms,
        context_bias=tuple(context_bias) if context_bias is not None else None,
    )
    return RealtimeTranscriber(base_url, model, protocol=protocol, api_key=api_key, **options)
