"""Sending a `Reply` over a connection, faults included (used by `ScriptedServer`).

Each function returns whether the connection may serve another request.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

from voxagent.testing.http11 import Connection
from voxagent.testing.replies import Reply
from voxagent.testing.wire import chat_body, error_body, sse, stream_chunks

__all__ = ["send_reply", "send_transcript"]

_HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
_PIECE = 1024 * 1024


async def send_reply(
    connection: Connection,
    reply: Reply,
    *,
    model: str,
    ids: list[str],
    prompt_tokens: int,
    request_id: str,
    stream: bool,
    include_usage: bool,
) -> bool:
    """Answer a chat request with `reply`."""
    if not await _before_headers(connection, reply):
        return False
    if reply.status != 200:
        return await _error(connection, reply)
    if stream:
        events = [
            sse(c)
            for c in stream_chunks(
                reply,
                model=model,
                ids=ids,
                prompt_tokens=prompt_tokens,
                request_id=request_id,
                include_usage=include_usage,
            )
        ]
        events.append(sse("[DONE]"))
        return await _stream(connection, reply, events)
    body = chat_body(
        reply, model=model, ids=ids, prompt_tokens=prompt_tokens, request_id=request_id
    )
    return await _whole(connection, reply, json.dumps(body).encode())


async def send_transcript(connection: Connection, reply: Reply) -> bool:
    """Answer a transcription request with `reply` (its content is the transcript)."""
    if not await _before_headers(connection, reply):
        return False
    if reply.status != 200:
        return await _error(connection, reply)
    body = {"text": reply.content or "", "usage": {"type": "duration", "seconds": 0}}
    return await _whole(connection, reply, json.dumps(body).encode())


async def _before_headers(connection: Connection, reply: Reply) -> bool:
    if reply.delay:
        await anyio.sleep(reply.delay)
    if reply.fault_after is None and reply.fault == "drop":
        await connection.abort()
        return False
    if reply.fault_after is None and reply.fault == "stall":
        await anyio.sleep_forever()
    return True


def _headers(reply: Reply) -> list[tuple[str, str]]:
    return [(k, v) for k, v in reply.headers.items()]


async def _error(connection: Connection, reply: Reply) -> bool:
    body: Any = reply.body
    if body is None:
        body = error_body(reply.status, reply.message or f"scripted error {reply.status}")
    if isinstance(body, str):
        raw, kind = body.encode(), "text/plain"
    elif isinstance(body, bytes):
        raw, kind = body, "text/plain"
    else:
        raw, kind = json.dumps(body).encode(), "application/json"
    await connection.respond(reply.status, raw, kind, _headers(reply))
    return True


async def _whole(connection: Connection, reply: Reply, raw: bytes) -> bool:
    if reply.fault == "non_json":
        await connection.respond(200, _HTML, "text/html", _headers(reply))
        return True
    if reply.fault == "huge_body":
        await connection.start(
            200, [("content-type", "application/json"), *_headers(reply)], length=reply.huge_bytes
        )
        await _pad(connection, reply.huge_bytes)
        await connection.finish()
        return True
    await connection.start(
        200, [("content-type", "application/json"), *_headers(reply)], length=len(raw)
    )
    if reply.fault in ("drop", "stall", "end_early"):
        # Mid-body: send half, then break off.
        await connection.write(raw[: len(raw) // 2])
        if reply.fault == "stall":
            await anyio.sleep_forever()
        await connection.abort()
        return False
    await connection.write(raw)
    await connection.finish()
    return True


async def _stream(connection: Connection, reply: Reply, events: list[bytes]) -> bool:
    if reply.fault == "non_json":
        await connection.respond(200, _HTML, "text/html", _headers(reply))
        return True
    await connection.start(
        200,
        [
            ("content-type", "text/event-stream; charset=utf-8"),
            ("cache-control", "no-cache"),
            *_headers(reply),
        ],
        length=None,
    )
    if reply.fault == "huge_body":
        await connection.write(b"data: ")
        await _pad(connection, reply.huge_bytes)
        await connection.write(b"\n\n")
        await connection.finish()
        return True
    if reply.fault == "no_done":
        events = events[:-1]
    mid_stream = reply.fault in ("drop", "stall", "end_early", "malformed_sse", "bad_chunk_json")
    cut = len(events)
    if mid_stream:
        cut = reply.fault_after if reply.fault_after is not None else 1
    for number, event in enumerate(events):
        if number == cut:
            return await _mid_stream_fault(connection, reply)
        if reply.chunk_delay and number:
            await anyio.sleep(reply.chunk_delay)
        await connection.write(event)
    if mid_stream:
        return await _mid_stream_fault(connection, reply)
    await connection.finish()
    return True


async def _mid_stream_fault(connection: Connection, reply: Reply) -> bool:
    if reply.fault == "drop":
        await connection.abort()
        return False
    if reply.fault == "stall":
        await anyio.sleep_forever()
    if reply.fault == "malformed_sse":
        await connection.write(b"this line is not a server-sent event\n\n")
    elif reply.fault == "bad_chunk_json":
        await connection.write(b'data: {"choices": [{"delta": \n\n')
    await connection.finish()
    return True


async def _pad(connection: Connection, size: int) -> None:
    sent = 0
    piece = b"x" * _PIECE
    while sent < size:
        part = piece[: min(_PIECE, size - sent)]
        await connection.write(part)
        sent += len(part)
