"""The API key and URL credentials never reach a message, a log line or an event.

Servers and proxies echo requests back: a stream error event quoting the Authorization header,
an HTML page, a bad SSE line, an error body. And a base URL may carry `user:password@`. Every
path where such text becomes an exception, a log record (DEBUG included) or an event is
tested here with a server that echoes the credentials it received.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import numpy as np
import pytest

from voxagent import Agent
from voxagent.client import ModelClient
from voxagent.client.errors import Redactor, public_url
from voxagent.errors import (
    ConfigurationError,
    ModelError,
    ProtocolError,
    RealtimeError,
    ServerError,
    ServerUnavailableError,
    VoxagentError,
)
from voxagent.events import Event
from voxagent.realtime.transcriber import RealtimeTranscriber
from voxagent.testing.http11 import Connection, IncomingRequest
from voxagent.testing.realtime_server import RealtimeTestServer

from .conftest import loopback_server

pytestmark = pytest.mark.anyio
KEY = "sk-live-0123456789abcdefSECRET"
PASSWORD = "hunter2-pass%40word"  # percent-encoded "@": the decoded form must go too
DECODED_PASSWORD = "hunter2-pass@word"
USER = [{"role": "user", "content": "hi"}]
MODELS = json.dumps({"object": "list", "data": [{"id": "m"}]}).encode()

Echo = Callable[[Connection, str], Awaitable[None]]


@asynccontextmanager
async def echoing_server(answer: Echo) -> AsyncIterator[tuple[int, list[IncomingRequest]]]:
    """A loopback server that answers chat requests with `answer(connection, authorization)`."""
    requests: list[IncomingRequest] = []

    async def chat(connection: Connection, request: IncomingRequest) -> None:
        requests.append(request)
        await answer(connection, request.headers.get("authorization", ""))

    async with loopback_server(MODELS, chat) as port:
        yield port, requests


def sse(*lines: bytes) -> bytes:
    return b"".join(lines)


async def stream_error_event(connection: Connection, auth: str) -> None:
    await connection.start(200, [("content-type", "text/event-stream")], length=None)
    error = {"error": {"message": f"bad credentials: {auth} (key {auth.partition(' ')[2]})"}}
    await connection.write(b"data: " + json.dumps(error).encode() + b"\n\n")
    await connection.finish()


async def html_page(connection: Connection, auth: str) -> None:
    await connection.respond(200, f"<html>{auth}</html>".encode(), "text/html")


async def bad_sse_line(connection: Connection, auth: str) -> None:
    await connection.start(200, [("content-type", "text/event-stream")], length=None)
    await connection.write(f"Authorization: {auth}\n\n".encode())
    await connection.finish()


async def bad_chunk_json(connection: Connection, auth: str) -> None:
    await connection.start(200, [("content-type", "text/event-stream")], length=None)
    await connection.write(f'data: {{"auth": "{auth}" \n\n'.encode())
    await connection.finish()


async def error_status(connection: Connection, auth: str) -> None:
    body = json.dumps({"error": {"message": f"refused {auth}"}}).encode()
    await connection.respond(500, body, "application/json")


async def error_body_200(connection: Connection, auth: str) -> None:
    body = json.dumps({"error": {"message": f"quota exceeded for {auth}"}}).encode()
    await connection.respond(200, body, "application/json")


# What each echo raises when read as a stream, and when read as a whole answer (the same bytes
# that are a stream event are not JSON as a whole, and a JSON body is not an SSE line).
ECHOES: dict[str, tuple[Echo, type[ModelError], type[ModelError]]] = {
    "stream-error-event": (stream_error_event, ServerError, ProtocolError),
    "non-json-page": (html_page, ProtocolError, ProtocolError),
    "bad-sse-line": (bad_sse_line, ProtocolError, ProtocolError),
    "bad-chunk-json": (bad_chunk_json, ProtocolError, ProtocolError),
    "error-status": (error_status, ServerError, ServerError),
    "error-body-with-200": (error_body_200, ProtocolError, ServerError),
}


def texts_of(error: BaseException) -> list[str]:
    """Everything a person or a log could see of `error` and what it was raised from."""
    seen: list[str] = []
    current: BaseException | None = error
    while current is not None:
        seen += [str(current), repr(current), *(str(a) for a in current.args)]
        if isinstance(current, VoxagentError):
            seen.append(current.hint or "")
        if isinstance(current, ModelError):
            seen.append(current.server_message or "")
        # What a traceback would print: the cause, else the context unless suppressed.
        hidden = current.__suppress_context__
        current = current.__cause__ or (None if hidden else current.__context__)
    return seen


def assert_clean(texts: list[str], *secrets: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {text[:300]!r}"


async def consume(client: ModelClient, stream: bool) -> None:
    if not stream:
        await client.chat(USER)
        return
    async with aclosing(client.stream_chat(USER)) as items:
        async for _ in items:
            pass


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
@pytest.mark.parametrize("name", list(ECHOES))
async def test_an_echoed_api_key_is_redacted_from_errors_and_debug_logs(
    name: str, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo, when_streamed, when_whole = ECHOES[name]
    expected = when_streamed if stream else when_whole
    async with echoing_server(echo) as (port, requests):
        base_url = f"http://127.0.0.1:{port}/v1"
        async with ModelClient(base_url, model="m", api_key=KEY) as client:
            with pytest.raises(expected) as caught:
                await consume(client, stream)
    assert requests[-1].headers["authorization"] == f"Bearer {KEY}"  # the server did see it
    assert "[redacted]" in " ".join(texts_of(caught.value))  # and echoed it back
    assert_clean([*texts_of(caught.value), caplog.text], KEY)


async def test_userinfo_in_base_url_is_sent_as_basic_auth_and_never_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with echoing_server(error_status) as (port, requests):
        base_url = f"http://alice:{PASSWORD}@127.0.0.1:{port}/v1"
        async with ModelClient(base_url, model="m", retry=None) as client:
            assert client.base_url == f"http://127.0.0.1:{port}/v1"
            assert_clean([repr(client)], PASSWORD, DECODED_PASSWORD)
            with pytest.raises(ServerError) as caught:
                await client.chat(USER)
    basic = requests[-1].headers["authorization"]
    assert basic.startswith("Basic ")  # credentials still work, as httpx sent them before
    assert requests[-1].path == "/v1/chat/completions"
    # The server echoed the Basic value; the message names the host, not the password.
    assert f"127.0.0.1:{port}" in caught.value.message
    assert_clean(
        [*texts_of(caught.value), caplog.text], PASSWORD, DECODED_PASSWORD, basic.split()[1]
    )
    assert "alice:" not in caplog.text


async def test_userinfo_is_kept_out_of_connection_errors() -> None:
    with anyio.fail_after(20):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        await listener.aclose()
        base_url = f"http://alice:{PASSWORD}@127.0.0.1:{port}/v1"
        async with ModelClient(base_url, model="m", retry=None) as client:
            with pytest.raises(ServerUnavailableError) as caught:
                await client.chat(USER)
    assert_clean(texts_of(caught.value), PASSWORD, DECODED_PASSWORD, "alice")


async def test_agent_ask_errors_and_events_carry_no_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    async with echoing_server(stream_error_event) as (port, _):
        agent: Agent[None] = Agent(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY)
        async with agent:
            with pytest.raises(ServerError) as caught:
                await agent.ask(text="hi", on_event=events.append)
    assert_clean([*texts_of(caught.value), caplog.text, *map(repr, events)], KEY)


def test_redactor_covers_every_form_of_url_credentials() -> None:
    redact = Redactor.for_connection(f"https://bob:{PASSWORD}@h.example/v1", "key-123456")
    text = f"{PASSWORD} {DECODED_PASSWORD} bob:{DECODED_PASSWORD} key-123456"
    assert redact(text).count("[redacted]") == 4
    assert "bob:" not in redact(f"bob:{DECODED_PASSWORD}")
    assert public_url(f"https://bob:{PASSWORD}@h.example:8443/v1?x=1") == (
        "https://h.example:8443/v1?x=1"
    )
    token_only = Redactor.for_connection("https://tok-abcdef@h.example/v1", None)
    assert token_only("sent tok-abcdef") == "sent [redacted]"
    assert Redactor.for_connection("http://h/v1", "abc")("abc") == "abc"  # too short to matter


# ------------------------------------------------------------ realtime


async def test_the_realtime_debug_log_never_prints_the_authorization_header(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    frames = [np.zeros(1600, dtype=np.float32) for _ in range(4)]

    async def source() -> AsyncIterator[np.ndarray]:
        for frame in frames:
            yield frame

    async with RealtimeTestServer() as server:
        async with RealtimeTranscriber(server.base_url, server.model, api_key=KEY) as rt:
            await rt.transcribe_text(source())
    handshake = [r.getMessage() for r in caplog.records if r.name == "websockets.client"]
    assert any(line.lower().startswith("> authorization: [redacted]") for line in handshake)
    # The test server's own log (websockets.server) shows what it received: not the client's.
    client_side = [r.getMessage() for r in caplog.records if r.name != "websockets.server"]
    assert_clean(client_side, KEY)


class EchoingSocket:
    """A realtime server that answers the first audio with an error quoting the key."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.inbox: list[str] = []
        self.got_audio = anyio.Event()

    async def send(self, message: str) -> None:
        if "append" in json.loads(message)["type"]:
            self.got_audio.set()

    async def recv(self) -> str:
        await self.got_audio.wait()
        reply, self.reply = self.reply, ""
        if not reply:
            await anyio.sleep_forever()
        return reply

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (json.dumps({"type": "error", "error": "bad key SECRET", "code": "x"}), RealtimeError),
        ("<html>Authorization: SECRET</html>", ProtocolError),
    ],
    ids=["server-error", "non-json"],
)
@pytest.mark.parametrize("auth", ["api-key", "url-credentials"])
async def test_realtime_errors_echoing_the_credentials_are_redacted(
    reply: str, error: type[VoxagentError], auth: str
) -> None:
    headers: list[dict[str, str]] = []

    async def connect(url: str, *, additional_headers: dict[str, str], **_: Any) -> EchoingSocket:
        headers.append(additional_headers)
        return EchoingSocket(reply.replace("SECRET", echoed))

    async def source() -> AsyncIterator[np.ndarray]:
        yield np.zeros(1600, dtype=np.float32)
        await anyio.sleep_forever()

    # One way to authenticate at a time (both together are refused: see below).
    if auth == "api-key":
        base_url, api_key, echoed = "http://test/v1", KEY, f"Bearer {KEY}"
    else:
        base_url, api_key, echoed = f"http://carol:{PASSWORD}@test/v1", None, DECODED_PASSWORD
    async with RealtimeTranscriber(base_url, "m", api_key=api_key, connect=connect) as rt:
        assert rt.url == "ws://test/v1/realtime"
        with anyio.fail_after(5), pytest.raises(error) as caught:
            await rt.transcribe_text(source())
    assert headers[0] == ({"Authorization": f"Bearer {KEY}"} if api_key else {})
    assert_clean(texts_of(caught.value), KEY, PASSWORD, DECODED_PASSWORD)


async def test_realtime_open_failures_name_the_url_without_its_password() -> None:
    async def connect(url: str, **_: Any) -> EchoingSocket:
        raise OSError(f"refused {url}")

    base_url = f"http://carol:{PASSWORD}@127.0.0.1:9/v1"
    transcriber = RealtimeTranscriber(base_url, "m", connect=connect, max_reconnects=0)
    with pytest.raises(ServerUnavailableError) as caught:
        async with transcriber:
            pass
    assert "ws://127.0.0.1:9/v1/realtime" in caught.value.message
    assert_clean(texts_of(caught.value), PASSWORD, DECODED_PASSWORD)


async def test_realtime_sends_one_authorization_header_whichever_way_it_is_given() -> None:
    # websockets turns a URL's user:password@ into Basic auth; an api_key is a Bearer token.
    async with RealtimeTestServer() as server:
        with_password = server.base_url.replace("//", f"//alice:{PASSWORD}@", 1)
        async with RealtimeTranscriber(with_password, server.model):
            pass
        async with RealtimeTranscriber(server.base_url, server.model, api_key=KEY):
            pass
    (basic,), (bearer,) = server.authorizations  # one header each, never two
    assert basic.startswith("Basic ") and bearer == f"Bearer {KEY}"


def test_realtime_credentials_in_the_url_and_an_api_key_are_refused_before_connecting() -> None:
    async def connect(url: str, **_: Any) -> EchoingSocket:
        raise AssertionError("nothing may be sent")

    base_url = f"http://carol:{PASSWORD}@127.0.0.1:9/v1"
    with pytest.raises(ConfigurationError) as caught:
        RealtimeTranscriber(base_url, "m", api_key=KEY, connect=connect)
    assert "api_key" in caught.value.message
    assert "ws://127.0.0.1:9/v1/realtime" in caught.value.message
    assert caught.value.hint is not None and "Basic" in caught.value.hint
    assert_clean(texts_of(caught.value), KEY, PASSWORD, DECODED_PASSWORD, "carol")


def test_http_credentials_in_the_url_and_an_api_key_are_refused_with_neither_shown() -> None:
    base_url = f"http://carol:{PASSWORD}@127.0.0.1:9/v1"
    with pytest.raises(ConfigurationError) as caught:
        ModelClient(base_url, model="m", api_key=KEY)
    assert "api_key" in caught.value.message and "127.0.0.1:9/v1" in caught.value.message
    assert caught.value.hint is not None and "Basic" in caught.value.hint
    assert_clean(texts_of(caught.value), KEY, PASSWORD, DECODED_PASSWORD, "carol")


async def test_url_credentials_need_no_key_from_the_environment_and_win_over_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Mistral's dialect reads $MISTRAL_API_KEY when no key is given; a URL with credentials
    # (a proxy in front of the API) authenticates by itself, and the environment's key is not
    # sent as a second way.
    monkeypatch.setenv("MISTRAL_API_KEY", KEY)
    async with echoing_server(error_status) as (port, requests):
        base_url = f"http://alice:{PASSWORD}@127.0.0.1:{port}/v1"
        async with ModelClient(base_url, model="m", dialect="mistral", retry=None) as client:
            with pytest.raises(ServerError):
                await client.chat(USER)
        monkeypatch.delenv("MISTRAL_API_KEY")
        ModelClient(base_url, model="m", dialect="mistral")  # no key anywhere: still fine
    assert requests[-1].headers["authorization"].startswith("Basic ")
    assert not any(KEY in value for value in requests[-1].headers.values())
