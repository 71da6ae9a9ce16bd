"""Sending one HTTP request with deadlines, retries and typed errors (used by `ModelClient`).

The retry rule that matters: a request is retried only while nothing of a successful answer has
been read. Once a 2xx status arrived the caller owns the response; errors after that are raised,
never retried (a stream may already have produced tool calls the agent acted on).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing

import anyio
import httpx

from voxagent.client.errors import (
    Redactor,
    error_from_response,
    redirect_error,
    unreachable_error,
)
from voxagent.client.retry import RetryPolicy, parse_retry_after
from voxagent.clock import Clock, Sleep
from voxagent.errors import ConfigurationError, ModelError, ProtocolError

__all__ = ["Transport"]

_log = logging.getLogger("voxagent.client")
_ERROR_BODY_LIMIT = 64 * 1024

RequestFactory = Callable[[], httpx.Request]
Served = Callable[[], Awaitable[list[str] | None]]


class Transport:
    """One base URL, one httpx client, one retry policy; knows nothing about chat or dialects.

    Args:
        http: The httpx client that sends requests.
        retry: When and how long to wait before trying again.
        sleep: Awaitable sleep (injected so tests do not wait).
        clock: Monotonic seconds (injected alongside `sleep`).
        max_response_bytes: The largest successful body read into memory.
        redact: Removes the API key and URL credentials from error bodies and log lines.
        base_url: The API root requests are made under (to suggest a new one on a redirect).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        retry: RetryPolicy,
        sleep: Sleep,
        clock: Clock,
        max_response_bytes: int,
        redact: Redactor | None = None,
        base_url: str | None = None,
    ) -> None:
        self.http = http
        self._redact = redact or Redactor()
        self._base_url = base_url
        self.retry = retry
        self._sleep = sleep
        self._clock = clock
        self.max_response_bytes = max_response_bytes

    def deadline(self, total: float | None) -> float:
        """Return the absolute deadline for a call allowed `total` seconds (inf for none)."""
        return math.inf if total is None else self._clock() + total

    def remaining(self, deadline: float, url: str) -> float:
        """Seconds left before `deadline`; raises the timeout error when none are."""
        left = deadline - self._clock()
        if left <= 0:
            raise unreachable_error(url, "the whole-request timeout expired", timeout=True)
        return left

    async def send(
        self,
        build: RequestFactory,
        *,
        deadline: float,
        model: str | None,
        served: Served | None = None,
    ) -> httpx.Response:
        """Send until a 2xx arrives; return it unread (the caller must close it).

        Args:
            build: Makes a fresh request for each attempt.
            deadline: Absolute clock time by which headers must have arrived (retries included).
            model: The model asked for, for error messages.
            served: Lists the served models, to enrich a 404 hint; called at most once.

        Raises:
            ModelError: a typed error once retries are exhausted or not allowed.
        """
        attempt = 0
        while True:
            attempt += 1
            request = build()
            url = str(request.url)
            retry_after: float | None = None
            try:
                with anyio.fail_after(self.remaining(deadline, url)):
                    response = await self.http.send(request, stream=True)
            except TimeoutError as exc:
                raise unreachable_error(
                    url, "the whole-request timeout expired", timeout=True
                ) from exc
            except httpx.UnsupportedProtocol as exc:
                raise ConfigurationError(
                    f"cannot send to {url}: {exc}",
                    hint="the base URL must start with http:// or https://",
                ) from exc
            except httpx.TimeoutException as exc:
                error: ModelError = unreachable_error(url, _describe(exc), timeout=True)
                retryable = True
            except httpx.TransportError as exc:
                error = unreachable_error(url, _describe(exc))
                retryable = True
            else:
                status = response.status_code
                if 300 <= status < 400 and status != 304:
                    # Not followed (httpx's default): a redirect to another origin would carry
                    # the request, and its key, there. The error says where it pointed.
                    await response.aclose()
                    location = response.headers.get("location")
                    raise redirect_error(url, status, location, base_url=self._base_url)
                if status < 400:
                    _log.debug("%s %s -> %d", request.method, url, status)
                    return response
                try:
                    body = await self._read_error_body(response, deadline, url)
                    body = self._redact.data(_redact(body, request))
                finally:
                    await response.aclose()
                names = await served() if served and response.status_code == 404 else None
                error = error_from_response(
                    response.status_code, body, url=url, model=model, served=names
                )
                retryable = response.status_code in self.retry.retry_statuses
                retry_after = parse_retry_after(
                    response.headers.get("retry-after"), date_header=response.headers.get("date")
                )
            _log.debug(
                "%s %s failed (attempt %d): %s",
                request.method,
                url,
                attempt,
                self._redact(error.message),
            )
            if not retryable or attempt >= self.retry.max_attempts:
                raise error
            delay = self.retry.backoff(attempt, retry_after)
            if delay is None or self._clock() + delay >= deadline:
                raise error
            await self._sleep(delay)

    async def read_body(self, response: httpx.Response, deadline: float) -> bytes:
        """Read a successful body whole (bounded by size and deadline), then close the response."""
        url = str(response.request.url)
        parts: list[bytes] = []
        size = 0
        try:
            async with aclosing(self.iter_bytes(response, deadline)) as chunks:
                async for part in chunks:
                    size += len(part)
                    if size > self.max_response_bytes:
                        raise ProtocolError(
                            f"{url} sent an answer larger than {self.max_response_bytes} bytes",
                            hint="the server misbehaves; raise max_response_bytes only if expected",
                        )
                    parts.append(part)
        finally:
            await response.aclose()
        return b"".join(parts)

    async def iter_bytes(
        self, response: httpx.Response, deadline: float
    ) -> AsyncGenerator[bytes, None]:
        """Yield body bytes; each read is bounded by the deadline. No retry happens from here."""
        url = str(response.request.url)
        chunks = response.aiter_bytes()
        read_limit = _read_timeout(response)
        while True:
            try:
                left = self.remaining(deadline, url)
                if read_limit is not None and read_limit < left:
                    # httpx's own read timeout fires before the deadline could pass during this
                    # read: no cancel scope needed (they cost ~12 us per chunk of a stream).
                    part = await anext(chunks)
                else:
                    with anyio.fail_after(left):
                        part = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise unreachable_error(
                    url, "the whole-request timeout expired mid-answer", timeout=True
                ) from exc
            except httpx.TimeoutException as exc:
                raise unreachable_error(url, f"{_describe(exc)} mid-answer", timeout=True) from exc
            except httpx.TransportError as exc:
                reason = f"connection lost mid-answer ({_describe(exc)})"
                raise unreachable_error(url, reason) from exc
            yield part

    async def _read_error_body(self, response: httpx.Response, deadline: float, url: str) -> bytes:
        parts: list[bytes] = []
        size = 0
        try:
            async with aclosing(self.iter_bytes(response, deadline)) as chunks:
                async for part in chunks:
                    parts.append(part)
                    size += len(part)
                    if size >= _ERROR_BODY_LIMIT:
                        break
        except ModelError:
            pass  # a truncated error body still tells us the status; keep what arrived
        return b"".join(parts)[:_ERROR_BODY_LIMIT]


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _redact(body: bytes, request: httpx.Request) -> bytes:
    """Remove the request's credential from an error body before it becomes a message.

    Misconfigured proxies and some servers echo request headers back in their errors; the key
    must not reach exceptions, logs or the terminal that way.
    """
    auth = request.headers.get("authorization", "")
    token = auth.partition(" ")[2] or auth
    return body.replace(token.encode(), b"[redacted]") if len(token) >= 8 else body


def _read_timeout(response: httpx.Response) -> float | None:
    """The per-read timeout httpx applies to this response's reads, when it is known."""
    timeout = response.request.extensions.get("timeout")
    read = timeout.get("read") if isinstance(timeout, dict) else None
    return float(read) if isinstance(read, int | float) else None
