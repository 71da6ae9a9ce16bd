"""Fixtures for the eval tests: a portal thread for the scripted server."""

from __future__ import annotations

from collections.abc import Iterator

import anyio.from_thread
import pytest


@pytest.fixture
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal
