"""When and how long to wait before trying again: the HTTP client's requests and the realtime
transcriber's websocket (re)opens share this one backoff."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

__all__ = ["RetryPolicy", "parse_retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, for failures that happened before any answer arrived.

    The client retries connection failures and the statuses in `retry_statuses`; it never retries
    once a response body has been read (a stream may already have produced tool calls). The
    realtime transcriber uses one without jitter for its websocket reopens (`retry_statuses` and
    `max_retry_after` do not apply there).

    Attributes:
        max_attempts: Total tries, the first included (1 disables retries).
        base_delay: The backoff before the second try, in seconds (doubled for each later try).
        max_delay: The cap on one backoff, in seconds.
        retry_statuses: HTTP statuses worth another try.
        max_retry_after: The cap on a server's Retry-After, in seconds; a longer wait gives up
            instead of sleeping (the caller gets the error at once).
        rng: The random source for jitter (inject a seeded one for reproducible tests).
        jitter: Whether a backoff is drawn uniformly below its ceiling (True: spreads the
            retries of many clients) or is the ceiling itself (False: a fixed schedule).
    """

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    max_retry_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")
        # Accept any iterable of ints (a set literal is the natural spelling).
        object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))

    def backoff(self, retry_number: int, retry_after: float | None = None) -> float | None:
        """Return the seconds to wait before retry `retry_number` (1 for the first retry).

        Args:
            retry_number: Which retry this is, counting from 1.
            retry_after: The server's Retry-After in seconds, when it sent one.

        Returns:
            The delay, or None when the server asked for longer than `max_retry_after`.
        """
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return max(0.0, retry_after)
        return self.delay(retry_number)

    def delay(self, retry_number: int) -> float:
        """Return the policy's own wait before retry `retry_number` (1 for the first retry).

        `base_delay * 2 ** (retry_number - 1)`, capped at `max_delay`, then jittered (uniform
        between 0 and that) unless `jitter` is False.
        """
        try:
            grown = self.base_delay * 2.0 ** (retry_number - 1)
        except OverflowError:  # thousands of retries: the cap has long been reached
            grown = math.inf if self.base_delay else 0.0
        ceiling = min(self.max_delay, grown)
        return self.rng.uniform(0.0, ceiling) if self.jitter else ceiling


def parse_retry_after(
    value: str | None, *, date_header: str | None = None, now: Callable[[], float] = time.time
) -> float | None:
    """Read a Retry-After header: delay seconds or an HTTP date.

    Args:
        value: The header's value, or None when absent.
        date_header: The response's own Date header; an HTTP-date Retry-After is measured from it
            when present, which avoids depending on the two machines' clocks agreeing.
        now: Wall-clock seconds, used only when an HTTP date comes without a Date header.

    Returns:
        Seconds to wait (never negative), or None when absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # "nan" parses as a float but says nothing: treat it as unreadable (our own backoff).
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        target = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    reference = now()
    if date_header:
        try:
            reference = parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return max(0.0, target - reference)
