"""The realtime transcriber's websocket: opened with retries, held, reopened after a drop.

The bearer header comes from `voxagent.client.auth` and the wait between attempts from the
HTTP client's `RetryPolicy`, so both clients authenticate and back off the same way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import WebSocketException

from voxagent.client.auth import bearer_headers, url_credentials
from voxagent.client.errors import REDACTED, Redactor, public_url
from voxagent.client.retry import RetryPolicy
from voxagent.clock import Sleep
from voxagent.errors import ServerUnavailableError
from voxagent.realtime.connection import Connection, WebSocketLike, close_connection
from voxagent.realtime.handshake import start_session
from voxagent.realtime.protocol import RealtimeProtocol

__all__ = ["ConnectFn", "Connector", "reconnect_policy"]

ConnectFn = Callable[..., Awaitable[WebSocketLike]]
"""Opens a websocket: called as `connect(url, additional_headers=..., open_timeout=...)`."""

# The longest wait between two attempts at reopening the realtime websocket, in seconds.
MAX_RECONNECT_DELAY = 2.0

# websockets logs every handshake header at DEBUG, credentials included.
_AUTH_HEADER = re.compile(r"^([<>] (?:proxy-)?authorization: ).*$", re.IGNORECASE | re.DOTALL)


def reconnect_policy(max_reconnects: int, reconnect_delay: float) -> RetryPolicy:
    """The realtime transcriber's schedule: `reconnect_delay` doubled per attempt, at most 2 s.

    No jitter (one client reconnecting to its own server); a negative argument counts as 0.

    Args:
        max_reconnects: Attempts after the first (`max_attempts` is one more).
        reconnect_delay: The wait before the first reopen, in seconds.
    """
    return RetryPolicy(
        max_attempts=max(0, max_reconnects) + 1,
        base_delay=0.0 if reconnect_delay < 0 else reconnect_delay,
        max_delay=MAX_RECONNECT_DELAY,
        jitter=False,
    )


class _RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """The websockets client's logger, minus authorization headers and known secrets."""

    def __init__(self, logger: logging.Logger, redact: Redactor) -> None:
        super().__init__(logger, {})
        self._redact = redact

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        text = _AUTH_HEADER.sub(rf"\g<1>{REDACTED}", text)
        self.logger.log(level, "%s", self._redact(text), **kwargs)


class Connector:
    """Opens, holds and drops the one websocket of a `RealtimeTranscriber`.

    Args:
        connect_url: The websocket URL to dial (credentials included).
        model: The model the session asks for.
        protocol: The server's message set.
        api_key: Sent as a bearer token when given; not with credentials in the URL.
        redact: Removes the key and URL credentials from websockets' log lines.
        connect: Opens a websocket (`websockets.asyncio.client.connect` by default).
        retry: How many attempts and how long between them.
        open_timeout: Seconds to open the socket and finish the session handshake.
        sleep: Waits between attempts.

    Attributes:
        url: The websocket URL, as messages show it (without credentials).
        opened: Websockets opened so far (reconnects included).
        current: The open connection, or None.

    Raises:
        ConfigurationError: `connect_url` carries `user:password@` and `api_key` is given too.
    """

    def __init__(
        self,
        connect_url: str,
        model: str,
        protocol: RealtimeProtocol,
        *,
        api_key: str | None,
        redact: Redactor,
        connect: ConnectFn,
        retry: RetryPolicy,
        open_timeout: float,
        sleep: Sleep,
    ) -> None:
        self._connect_url = connect_url
        self.url = public_url(connect_url)
        self._model = model
        self._protocol = protocol
        # websockets sends the URL's userinfo as Basic auth and would add the Bearer header as a
        # second Authorization: the server would pick one, or refuse both.
        url_credentials(connect_url, self.url, api_key)
        self._headers = bearer_headers(api_key)
        self._connect_fn = connect
        self._options: dict[str, Any] = {}
        if connect is ws_connect:
            # Only websockets' own connect takes a logger; an injected one keeps its signature.
            logger = logging.getLogger("websockets.client")
            self._options["logger"] = _RedactingLogger(logger, redact)
        self.retry = retry
        self._open_timeout = open_timeout
        self._sleep = sleep
        self.opened = 0
        self.current: Connection | None = None

    async def ensure(self, tg: anyio.abc.TaskGroup) -> Connection:
        """The open connection, opened (with retries) when there is none."""
        if self.current is None:
            await self.open(tg)
        assert self.current is not None  # set by open() or it raised
        return self.current

    async def open(self, tg: anyio.abc.TaskGroup) -> None:
        """Open a connection, trying up to `retry.max_attempts` times; its reader runs in `tg`.

        Raises:
            ServerUnavailableError: every attempt failed to connect or was dropped.
            RealtimeError: the server refused the session.
        """
        attempt = 0
        while True:
            try:
                self.current = await self._open(tg)
                return
            except (WebSocketException, OSError, TimeoutError) as exc:
                attempt += 1
                if attempt >= self.retry.max_attempts:
                    raise ServerUnavailableError(
                        f"cannot open realtime websocket {self.url}: "
                        f"{str(exc) or type(exc).__name__}",
                        hint="Is the server running and serving a Voxtral Realtime model? "
                        "Check base_url and the server's log.",
                    ) from None
                await self._sleep(self.retry.delay(attempt))

    async def drop(self) -> None:
        """Close the open connection, if any (the next `ensure` opens a new one)."""
        conn, self.current = self.current, None
        if conn is not None:
            await close_connection(conn)

    async def _open(self, tg: anyio.abc.TaskGroup) -> Connection:
        with anyio.fail_after(self._open_timeout):
            ws = await self._connect_fn(
                self._connect_url,
                additional_headers=self._headers,
                open_timeout=self._open_timeout,
                **self._options,
            )
            self.opened += 1
            return await start_session(ws, self._protocol, self._model, tg)
