"""Reading a streamed chat answer: SSE bytes in, stream items out, a cut stream refused."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

import anyio.lowlevel

from voxagent.client.answers import decode_json
from voxagent.client.sse import SSEDecoder, StreamAssembler
from voxagent.client.types import StreamItem
from voxagent.errors import ProtocolError

__all__ = ["read_events"]


async def read_events(
    chunks: AsyncIterator[bytes], assembler: StreamAssembler, url: str
) -> AsyncGenerator[StreamItem, None]:
    """The items of a streamed answer as its chunks arrive, up to `[DONE]`.

    What the assembler still holds at the end comes from `assembler.finish()`, after this.

    Raises:
        ProtocolError: malformed SSE or JSON, or a stream that ended before it finished (no
            finish_reason and no `[DONE]`).
    """
    decoder = SSEDecoder()
    done = False
    async for part in chunks:
        payloads = decoder.feed(part)
        if not payloads:
            # A part of blank lines or keep-alive comments: nothing to hand on, so nothing
            # else would let the event loop run other tasks.
            await anyio.lowlevel.checkpoint()
        for payload in payloads:
            if done:
                continue
            if payload.strip() == "[DONE]":
                done = True
                continue
            for item in assembler.feed(decode_json(payload, url)):
                yield item
    for payload in decoder.close():
        if payload.strip() == "[DONE]":
            done = True
        elif not done:
            for item in assembler.feed(decode_json(payload, url)):
                yield item
    if not done and assembler.finish_reason is None:
        raise ProtocolError(
            f"{url} ended the stream before it finished (no finish_reason, no [DONE])",
            hint="the server or a proxy cut the connection; the turn was not completed",
        )
