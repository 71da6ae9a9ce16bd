"""A minimal HTTP/1.1 server connection over an anyio byte stream, built on h11.

Hand-driving h11 (rather than using an ASGI server) is what lets the scripted server misbehave on
purpose: close the socket before the headers, stop mid-body, or send bytes no real server would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import anyio
import anyio.abc
import h11

__all__ = ["Connection", "IncomingRequest"]

_MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class IncomingRequest:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Connection:
    """One client connection; reads requests and writes responses, possibly broken ones."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEADER_BYTES)

    async def next_request(self) -> IncomingRequest | None:
        """Read the next whole request; None when the client closed the connection."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        head: h11.Request | None = None
        body: list[bytes] = []
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await self.stream.receive(65536)
                except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    data = b""
                self._h11.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage) and head is not None:
                headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head.headers
                }
                return IncomingRequest(
                    head.method.decode("ascii"),
                    head.target.decode("latin-1"),
                    headers,
                    b"".join(body),
                )
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None

    async def start(
        self, status: int, headers: Iterable[tuple[str, str]], *, length: int | None
    ) -> None:
        """Send the status line and headers (chunked when `length` is None)."""
        pairs = [(k, v) for k, v in headers]
        if length is not None:
            pairs.append(("content-length", str(length)))
        else:
            pairs.append(("transfer-encoding", "chunked"))
        await self._send(h11.Response(status_code=status, headers=pairs))

    async def write(self, data: bytes) -> None:
        """Send part of the body."""
        if data:
            await self._send(h11.Data(data=data))

    async def finish(self) -> None:
        """End the response properly."""
        await self._send(h11.EndOfMessage())

    async def respond(
        self, status: int, body: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        """Send a whole response."""
        await self.start(status, [("content-type", content_type), *headers], length=len(body))
        await self.write(body)
        await self.finish()

    @property
    def reusable(self) -> bool:
        """Whether another request may follow on this connection."""
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    async def abort(self) -> None:
        """Close the socket at once, whatever state the response is in."""
        await self.stream.aclose()

    async def _send(self, event: h11.Event) -> None:
        data = self._h11.send(event)
        if data:
            await self.stream.send(data)
