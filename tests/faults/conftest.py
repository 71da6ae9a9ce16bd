"""Fixtures and checks shared by the fault tests: anyio, fast retries, validity checks."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import numpy as np
import pytest
import soundfile as sf

from voxagent.client.retry import RetryPolicy
from voxagent.testing.http11 import Connection, IncomingRequest

if TYPE_CHECKING:
    from voxagent import Agent
    from voxagent.testing import ScriptedServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "audio"
RATE = 16000


@functools.cache
def _example(name: str) -> np.ndarray[Any, Any]:
    samples, rate = sf.read(EXAMPLES / f"{name}.wav", dtype="float32")
    assert rate == RATE
    samples.setflags(write=False)
    return samples


def speech(*names: str, gap: float = 1.2) -> np.ndarray[Any, Any]:
    """Real example clips (examples/audio) one after the other, `gap` s of silence after each."""
    parts: list[np.ndarray[Any, Any]] = []
    for name in names:
        parts += [_example(name), np.zeros(int(gap * RATE), dtype=np.float32)]
    return np.concatenate(parts)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def wav() -> Path:
    return EXAMPLES / "kitchen_light_on.wav"


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Agents build their own ModelClient: shrink the default backoff so retries take ms."""
    monkeypatch.setattr(
        "voxagent.client.client.RetryPolicy", partial(RetryPolicy, base_delay=0.01, max_delay=0.02)
    )


def assert_paired(messages: list[dict[str, Any]]) -> None:
    """Every assistant tool call is answered by exactly one tool message, before the next turn."""
    open_ids: list[str] = []
    for message in messages:
        role = message["role"]
        if role == "assistant":
            assert not open_ids, f"tool calls {open_ids} unanswered before an assistant message"
            open_ids = [c["id"] for c in message.get("tool_calls") or []]
        elif role == "tool":
            assert message["tool_call_id"] in open_ids, f"orphan tool result {message}"
            open_ids.remove(message["tool_call_id"])
        else:
            assert not open_ids, f"tool calls {open_ids} unanswered before a {role} message"
    assert not open_ids, f"tool calls {open_ids} unanswered at the end"


async def assert_next_turn_works(agent: Agent[Any], server: ScriptedServer) -> None:
    """The conversation is still valid: one more text turn is accepted by the validating server."""
    before = len(agent.conversation.turns)
    from voxagent.testing import Reply

    server.add(Reply.text("still here"))
    turn = await agent.ask(text="are you still there?")
    assert turn.text == "still here"
    assert server.errors == []
    assert len(agent.conversation.turns) == before + 2
    for request in server.requests:
        assert_paired(request["messages"])


class HostedServer:
    """Runs a ScriptedServer's start/stop in a task of its own.

    `ScriptedServer.start()` enters a task group in the calling task and `stop()` exits it, so a
    restart in a test whose Agent opened its own task group in between breaks anyio's nesting
    rule. Hosting the server's lifecycle in one dedicated task keeps the scopes nested.
    """

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self._send, self._receive = anyio.create_memory_object_stream[tuple[str, anyio.Event]]()

    async def _host(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with self.server, self._receive:
            task_status.started()
            async for command, done in self._receive:
                await (self.server.stop() if command == "stop" else self.server.start())
                done.set()

    async def _do(self, command: str) -> None:
        done = anyio.Event()
        await self._send.send((command, done))
        await done.wait()

    async def stop(self) -> None:
        """Stop the server (connections refused until `start`)."""
        await self._do("stop")

    async def start(self) -> None:
        """Start it again on the same port."""
        await self._do("start")


@asynccontextmanager
async def hosted(server: ScriptedServer) -> AsyncIterator[HostedServer]:
    """Serve `server` from a dedicated task, so it can be restarted mid-test."""
    host = HostedServer(server)
    async with anyio.create_task_group() as tg:
        await tg.start(host._host)
        try:
            yield host
        finally:
            host._send.close()


@asynccontextmanager
async def loopback_server(
    models: bytes, chat: Callable[[Connection, IncomingRequest], Awaitable[None]]
) -> AsyncIterator[int]:
    """A raw loopback HTTP server for answers no `ScriptedServer` would send; yields its port.

    `GET /models` gets `models` (a JSON body); every other request goes to `chat`.
    """

    async def handle(stream: anyio.abc.SocketStream) -> None:
        connection = Connection(stream)
        async with stream:
            while (request := await connection.next_request()) is not None:
                if request.path.endswith("/models"):
                    await connection.respond(200, models, "application/json")
                else:
                    await chat(connection, request)
                if not connection.reusable:
                    return

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        try:
            yield port
        finally:
            tg.cancel_scope.cancel()
