"""How long a client's requests may take: httpx's per-operation limits and the whole-request
deadline, and the TLS context every client shares."""

from __future__ import annotations

import functools
import ssl

import httpx

from voxagent.errors import ConfigurationError

__all__ = ["DEFAULT_TOTAL", "deadline_timeout", "http_timeouts", "tls_context"]

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=120.0, pool=10.0)
DEFAULT_TOTAL = 300.0


def deadline_timeout(seconds: float) -> httpx.Timeout:
    """httpx's timeouts for a whole-request deadline: connecting gets at most 10 s of it."""
    return httpx.Timeout(float(seconds), connect=min(10.0, seconds))


def http_timeouts(timeout: httpx.Timeout | float | None) -> tuple[httpx.Timeout, float]:
    """httpx's limits and the whole-request deadline for a client's `timeout` argument.

    A number is the whole-request deadline (and caps each operation); an `httpx.Timeout` sets
    the operations and leaves the whole request at 300 s; None is 10 s to connect, 120 s
    between reads, 300 s in all.

    Raises:
        ConfigurationError: a number that is not a positive number of seconds.
    """
    if isinstance(timeout, int | float):
        if not timeout > 0:  # NaN fails the test too
            raise ConfigurationError(
                f"timeout must be a positive number of seconds, not {timeout!r}",
                hint="pass None for the defaults (whole request 300 s)",
            )
        return deadline_timeout(timeout), float(timeout)
    return timeout or DEFAULT_TIMEOUT, DEFAULT_TOTAL


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verified TLS context per process, built the way httpx builds it.

    Loading the CA bundle costs ~20 ms of CPU; httpx would do it again for every client it
    creates (certifi, or SSL_CERT_FILE / SSL_CERT_DIR).
    """
    return httpx.create_ssl_context()
