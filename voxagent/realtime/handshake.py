"""The session handshake on a just-opened realtime websocket: its reader, the session messages,
and (Mistral's API) the server's confirmation before any audio.

Opening the socket, bounding the wait and retrying are the connector's job
(`voxagent.realtime.connector`).
"""

from __future__ import annotations

import anyio
import anyio.abc
from websockets.exceptions import WebSocketException

from voxagent.realtime.connection import (
    Connection,
    Dropped,
    Failed,
    Item,
    WebSocketLike,
    close_connection,
    read_messages,
    send_json,
)
from voxagent.realtime.protocol import (
    RealtimeProtocol,
    ServerErrorEvent,
    ServerSessionUpdated,
    realtime_error,
)

__all__ = ["start_session"]


async def start_session(
    ws: WebSocketLike, protocol: RealtimeProtocol, model: str, tg: anyio.abc.TaskGroup
) -> Connection:
    """Start the reader of a just-opened websocket in `tg` and set the session up on it.

    The caller bounds the wait (the opening's timeout covers the handshake too). On any failure
    the connection is closed before the error propagates.

    Args:
        ws: The open websocket.
        protocol: The server's message set.
        model: The model the session asks for.
        tg: Where the connection's reader runs.

    Raises:
        WebSocketException: the socket dropped before the server confirmed (worth another try).
        RealtimeError: the server refused the session.
    """
    inbox, items = anyio.create_memory_object_stream[Item](64)
    reader = anyio.CancelScope()
    tg.start_soon(read_messages, ws, protocol, inbox.clone(), reader)
    conn = Connection(ws, items, inbox, reader)
    try:
        # The server greets with session.created, which the reader swallows; anything it
        # reports instead (an error, a drop) comes out here.
        await send_json(ws, protocol.session_messages(model))
        if protocol.confirms_session:
            await _session_confirmed(conn)
    except BaseException:
        await close_connection(conn)
        raise
    return conn


async def _session_confirmed(conn: Connection) -> None:
    """Wait for `session.updated` (Mistral's API locks the settings at the first audio chunk)."""
    while True:
        try:
            item = await conn.items.receive()
        except anyio.EndOfStream:
            item = Dropped("connection closed")
        match item:
            case ServerSessionUpdated():
                return
            case ServerErrorEvent(code=code, message=message):
                raise realtime_error(code, message)
            case Dropped(reason=reason):
                raise WebSocketException(reason)  # retried like a failed open
            case Failed(error=error):
                raise error
            case _:
                continue  # turn events cannot come before audio; nothing else is waited for
