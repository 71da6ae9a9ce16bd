"""The background tasks behind `RealtimeTranscriber`: pump, sender and reader of one connection.

They never raise into the transcriber's task group: what goes wrong travels as an item on the
connection's bounded stream (`Dropped`, `Failed`), next to the server's own messages, and the
transcriber decides (reconnect, or raise in the caller's task).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from websockets.exceptions import WebSocketException

from voxagent.clock import Clock
from voxagent.errors import ProtocolError
from voxagent.jsonsafe import loads_bounded
from voxagent.realtime.audio import RealtimeUtterance, to_pcm16
from voxagent.realtime.protocol import (
    RealtimeProtocol,
    ServerDelta,
    ServerDone,
    ServerErrorEvent,
    ServerOther,
    ServerSessionUpdated,
    ServerTurn,
)

__all__ = [
    "Connection",
    "Dropped",
    "Failed",
    "FinalSent",
    "Item",
    "WebSocketLike",
    "close_connection",
    "pump",
    "read_messages",
    "send_audio",
    "send_json",
]


class WebSocketLike(Protocol):
    """The part of a `websockets` client connection the transcriber uses (tests swap it)."""

    async def send(self, message: str) -> None:
        """Send one text frame."""

    async def recv(self) -> str | bytes:
        """Receive one frame; raise `websockets.exceptions.ConnectionClosed` once closed."""

    async def close(self) -> None:
        """Close the connection."""


@dataclass(frozen=True, slots=True)
class Dropped:
    """The socket closed or broke."""

    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    """A task failed for a reason other than the socket (a bad source, a malformed message)."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class FinalSent:
    """The end-of-utterance messages went out: the wait for the final transcript starts."""


Item = (
    ServerDelta
    | ServerDone
    | ServerErrorEvent
    | ServerSessionUpdated
    | ServerTurn
    | Dropped
    | Failed
    | FinalSent
)


@dataclass(slots=True)
class Connection:
    """One open websocket and the stream its reader fills."""

    ws: WebSocketLike
    items: MemoryObjectReceiveStream[Item]
    inbox: MemoryObjectSendStream[Item]
    reader: anyio.CancelScope


async def send_json(ws: WebSocketLike, messages: list[dict[str, Any]]) -> None:
    """Send each message as one text frame (never binary: vLLM drops the socket on binary)."""
    for message in messages:
        await ws.send(json.dumps(message))


async def pump(
    source: AsyncIterable[Any],
    queue: MemoryObjectSendStream[bytes],
    utt: RealtimeUtterance,
    scope: anyio.CancelScope,
) -> None:
    """Pull audio from `source` into the bounded `queue`; a full queue pauses the pulling."""
    with scope, queue:
        try:
            async for item in source:
                pcm = to_pcm16(item)
                if pcm:
                    await queue.send(pcm)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # transcribe() has finished: nobody wants more audio
        except Exception as exc:
            utt.source_error = exc


async def send_audio(
    conn: Connection,
    protocol: RealtimeProtocol,
    queue: MemoryObjectReceiveStream[bytes],
    utt: RealtimeUtterance,
    clock: Clock,
    scope: anyio.CancelScope,
) -> None:
    """Open the utterance on `conn`, replay earlier audio, stream the queue, then end it."""
    with scope, conn.inbox.clone() as inbox:
        try:
            await send_json(conn.ws, protocol.start_messages())
            await send_json(conn.ws, [protocol.append_message(c) for c in utt.replay()])
            async for first in queue:
                chunk = _coalesce(first, queue, protocol.max_append_bytes)
                utt.record(chunk, clock())  # before sending: a drop mid-send still replays it
                await send_json(conn.ws, [protocol.append_message(chunk)])
            if utt.source_error is not None:
                await inbox.send(Failed(utt.source_error))
                return
            await send_json(conn.ws, protocol.end_messages())
            await inbox.send(FinalSent())
        except (WebSocketException, OSError):
            return  # the reader reports the drop
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # the connection was closed on purpose
        except Exception as exc:
            await _send_quietly(inbox, Failed(exc))


async def read_messages(
    ws: WebSocketLike,
    protocol: RealtimeProtocol,
    inbox: MemoryObjectSendStream[Item],
    scope: anyio.CancelScope,
) -> None:
    """Turn server messages into items until the socket closes (then send `Dropped`)."""
    with scope, inbox:
        try:
            while True:
                raw = await ws.recv()
                if isinstance(raw, bytes):
                    raw = raw.decode("utf-8", errors="replace")
                try:
                    data = loads_bounded(raw)
                except ValueError:
                    raise ProtocolError(
                        f"realtime server sent non-JSON text: {raw[:200]!r}",
                        hint="Check that base_url points at a realtime transcription server.",
                    ) from None
                message = protocol.parse(data)
                if not isinstance(message, ServerOther):
                    await inbox.send(message)
        except (WebSocketException, OSError) as exc:
            await _send_quietly(inbox, Dropped(str(exc) or type(exc).__name__))
        except Exception as exc:
            await _send_quietly(inbox, Failed(exc))


async def close_connection(conn: Connection) -> None:
    """Stop the reader and close the socket (bounded wait for the closing handshake)."""
    conn.reader.cancel()
    conn.inbox.close()
    conn.items.close()
    with anyio.move_on_after(2, shield=True):
        try:
            await conn.ws.close()
        except (WebSocketException, OSError):
            pass


def _coalesce(first: bytes, queue: MemoryObjectReceiveStream[bytes], limit: int) -> bytes:
    # Audio that piled up while the socket was busy goes out in fewer, larger messages.
    parts, size = [first], len(first)
    while size < limit:
        try:
            more = queue.receive_nowait()
        except (anyio.WouldBlock, anyio.EndOfStream):
            break
        parts.append(more)
        size += len(more)
    return b"".join(parts)


async def _send_quietly(inbox: MemoryObjectSendStream[Item], item: Item) -> None:
    try:
        await inbox.send(item)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass
