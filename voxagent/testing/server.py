"""`ScriptedServer`: a real HTTP server on loopback that answers like vLLM serving Voxtral.

Script it turn by turn with `Reply` objects; it validates every chat request as vLLM would
(mistral_common with a Voxtral Tekken tokenizer, the audio limit, max_model_len), records what it
received, and can inject transport faults. See docs/testing.md.
"""

from __future__ import annotations

import inspect
import json
import traceback
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.abc
import h11

from voxagent.testing.http11 import Connection, IncomingRequest
from voxagent.testing.records import (
    Rejection,
    RejectionKind,
    ScriptedRequest,
    TranscriptionRequest,
    parse_form,
)
from voxagent.testing.replies import Reply, ScriptItem
from voxagent.testing.validation import InvalidRequest, VllmValidator
from voxagent.testing.wire import CallIds, error_body, models_body
from voxagent.testing.writer import send_reply, send_transcript

# The record types are re-exported: tests import them from here (voxagent.testing has them too).
__all__ = [
    "Rejection",
    "RejectionKind",
    "ScriptedRequest",
    "ScriptedServer",
    "TranscriptionRequest",
]

_CHAT = "/v1/chat/completions"
_TRANSCRIBE = "/v1/audio/transcriptions"


class ScriptedServer:
    """An OpenAI-compatible server on 127.0.0.1 that replays a script and validates requests.

    Args:
        replies: Answers to chat requests, in order: `Reply` objects or functions (sync or
            async) of the request (a `ScriptedRequest`, a dict of the body) returning one. A
            function that raises gets HTTP 500 naming the exception, recorded in `errors`.
        transcripts: Answers to transcription requests, in order (`Reply.text("...")`, ...).
        default: The answer once a script runs out, for chat and transcription requests alike
            (a function can tell them apart by `request.kind`); None answers HTTP 500 naming
            the problem.
        model: The served model name.
        max_model_len: The context length reported by /v1/models and enforced.
        max_audio: The most audio items per request (vLLM's limit for Voxtral is 5).
        api_key: When set, requests must carry `Authorization: Bearer <api_key>` (like
            `vllm serve --api-key`).
        validate: Validate chat requests with mistral_common as vLLM does (turn off only to
            receive shapes vLLM would refuse, such as Mistral's API dialect).
        tekken_path: The Tekken file used for validation; None uses a tiny Voxtral one.
        seed: Seed for server-made tool call ids.
        port: The port to bind; 0 picks a free one.

    Attributes:
        requests: Every chat request body received (parsed JSON), in order.
        transcriptions: Every transcription request received, in order.
        rejections: Requests answered with an error the script did not ask for, each with a
            `kind`: invalid, unscripted, or a responder that raised.
        headers: The headers of every request received, in order (for auth tests).
    """

    def __init__(
        self,
        replies: Iterable[ScriptItem] = (),
        *,
        transcripts: Iterable[ScriptItem] = (),
        default: ScriptItem | None = None,
        model: str = "voxtral-test",
        max_model_len: int = 32768,
        max_audio: int = 5,
        api_key: str | None = None,
        validate: bool = True,
        tekken_path: str | Path | None = None,
        seed: int | None = 0,
        port: int = 0,
    ) -> None:
        self._replies: deque[ScriptItem] = deque(replies)
        self._transcripts: deque[ScriptItem] = deque(transcripts)
        self.default = default
        self.model = model
        self.max_model_len = max_model_len
        self.api_key = api_key
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self.transcriptions: list[TranscriptionRequest] = []
        self.rejections: list[Rejection] = []
        self.headers: list[dict[str, str]] = []
        self._validator = (
            VllmValidator(max_model_len=max_model_len, max_audio=max_audio, tekken_path=tekken_path)
            if validate
            else None
        )
        self._ids = CallIds(seed)
        self._served = 0
        self._listener: anyio.abc.Listener[anyio.abc.SocketStream] | None = None
        self._tasks: anyio.abc.TaskGroup | None = None
        self._serving: anyio.CancelScope | None = None
        self._serve_done: anyio.Event | None = None

    @property
    def errors(self) -> list[Rejection]:
        """Alias of `rejections`: assert `server.errors == []` to prove every request was valid.

        A responder function that raised is here too (`kind == "responder_error"`, with the
        exception and its traceback), so a broken test script cannot pass unnoticed.
        """
        return self.rejections

    @property
    def base_url(self) -> str:
        """The API root to give a client: "http://127.0.0.1:PORT/v1"."""
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *replies: ScriptItem) -> None:
        """Append answers to the chat script."""
        self._replies.extend(replies)

    def add_transcripts(self, *replies: ScriptItem) -> None:
        """Append answers to the transcription script."""
        self._transcripts.extend(replies)

    @property
    def pending(self) -> int:
        """How many scripted chat replies have not been used yet."""
        return len(self._replies)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on 127.0.0.1 (the same port again after `stop`, so a restart can be simulated)."""
        if self._validator is not None:
            await anyio.to_thread.run_sync(self._validator.warm_up)
        self._tasks = anyio.create_task_group()
        await self._tasks.__aenter__()
        await self.come_up()

    async def go_down(self) -> None:
        """Simulate a crashed server: stop listening and drop every open connection.

        Unlike `stop`, this can be called from any task (inside other cancel scopes, while an
        agent is open); `come_up` listens again on the same port.
        """
        if self._serving is not None:
            self._serving.cancel()
            self._serving = None
            # Close the listener only once serve() has stopped accepting on it.
            if self._serve_done is not None:
                await self._serve_done.wait()
        if self._listener is not None:
            await self._listener.aclose()
            self._listener = None

    async def come_up(self) -> None:
        """Listen again (on the same port) after `go_down`."""
        if self._tasks is None:
            raise RuntimeError("ScriptedServer.come_up() before start()")
        if self._listener is not None:
            return
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=self.port)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        self._listener = listener
        # The scope is made here, not in the task, so go_down() can cancel it even before the
        # serving task first runs.
        self._serving = anyio.CancelScope()
        self._serve_done = anyio.Event()
        self._tasks.start_soon(self._serve, listener, self._serving, self._serve_done)

    async def restart(self) -> None:
        """Drop every connection and listen again on the same port (a server restart)."""
        await self.go_down()
        await self.come_up()

    async def _serve(
        self,
        listener: anyio.abc.Listener[anyio.abc.SocketStream],
        scope: anyio.CancelScope,
        finished: anyio.Event,
    ) -> None:
        try:
            with scope:
                await listener.serve(self._connection)
        finally:
            finished.set()

    async def stop(self) -> None:
        """Stop listening and drop every open connection."""
        await self.go_down()
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()
            await self._tasks.__aexit__(None, None, None)
            self._tasks = None

    async def _connection(self, stream: anyio.abc.SocketStream) -> None:
        connection = Connection(stream)
        try:
            while True:
                request = await connection.next_request()
                if request is None:
                    return
                self.headers.append(request.headers)
                keep = await self._route(connection, request)
                if not keep or not connection.reusable:
                    return
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, h11.ProtocolError):
            return
        finally:
            await stream.aclose()

    async def _route(self, connection: Connection, request: IncomingRequest) -> bool:
        path = request.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            await connection.respond(200, b"", "text/plain")
            return True
        if (
            self.api_key is not None
            and request.headers.get("authorization") != f"Bearer {self.api_key}"
        ):
            await connection.respond(
                401, json.dumps({"error": "Unauthorized"}).encode(), "application/json"
            )
            return True
        if path == "/v1/models" and request.method == "GET":
            await _json(connection, 200, models_body(self.model, self.max_model_len))
            return True
        if path == _CHAT and request.method == "POST":
            return await self._chat(connection, request)
        if path == _TRANSCRIBE and request.method == "POST":
            return await self._transcribe(connection, request)
        await _json(connection, 404, {"detail": "Not Found"})
        return True

    async def _chat(self, connection: Connection, request: IncomingRequest) -> bool:
        try:
            body = json.loads(request.body)
            if not isinstance(body, dict):
                raise ValueError("the body is not a JSON object")
        except ValueError as exc:
            return await self._reject(
                connection, _CHAT, InvalidRequest(f"invalid JSON body: {exc}"), None
            )
        self.requests.append(body)
        if body.get("model") != self.model:
            error = InvalidRequest(
                f"The model `{body.get('model')}` does not exist.", status=404, kind="NotFoundError"
            )
            return await self._reject(connection, _CHAT, error, body)
        prompt_tokens = 0
        if self._validator is not None:
            try:
                prompt_tokens = await anyio.to_thread.run_sync(self._validator.check, body)
            except InvalidRequest as error:
                return await self._reject(connection, _CHAT, error, body)
        reply = await self._next(self._replies, ScriptedRequest(body, "chat", _CHAT))
        if isinstance(reply, Rejection):
            return await self._refuse(connection, reply)
        if reply is None:
            return await self._exhausted(connection, _CHAT, body)
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        self._served += 1
        return await send_reply(
            connection,
            reply,
            model=self.model,
            ids=[c.id or self._ids.make() for c in reply.calls],
            prompt_tokens=prompt_tokens,
            request_id=f"chatcmpl-{self._served}",
            stream=bool(body.get("stream")),
            include_usage=include_usage,
        )

    async def _transcribe(self, connection: Connection, request: IncomingRequest) -> bool:
        try:
            received = parse_form(request)
        except ValueError as exc:
            return await self._reject(connection, _TRANSCRIBE, InvalidRequest(str(exc)), None)
        self.transcriptions.append(received)
        if received.fields.get("model", self.model) != self.model:
            error = InvalidRequest(
                f"The model `{received.fields['model']}` does not exist.",
                status=404,
                kind="NotFoundError",
            )
            return await self._reject(connection, _TRANSCRIBE, error, received.fields)
        if not received.file:
            return await self._reject(
                connection, _TRANSCRIBE, InvalidRequest("no audio file"), received.fields
            )
        as_body: dict[str, Any] = {**received.fields, "file": received.file}
        reply = await self._next(
            self._transcripts, ScriptedRequest(as_body, "transcription", _TRANSCRIBE)
        )
        if isinstance(reply, Rejection):
            return await self._refuse(connection, reply)
        if reply is None:
            return await self._exhausted(connection, _TRANSCRIBE, received.fields)
        return await send_transcript(connection, reply)

    async def _next(
        self, script: deque[ScriptItem], request: ScriptedRequest
    ) -> Reply | Rejection | None:
        """The next answer; a `Rejection` when a responder function raised."""
        item = script.popleft() if script else self.default
        if item is None:
            return None
        if isinstance(item, Reply):
            return item
        try:
            made = item(request)
            if inspect.isawaitable(made):
                made = await made
            if not isinstance(made, Reply):
                raise TypeError(
                    f"a responder must return a Reply, not {type(made).__name__}: {made!r:.80}"
                )
        except Exception as exc:
            # A bug in the test's own responder. Left to propagate, it would kill the connection
            # (and the caller would see only a dropped request); answer 500 and keep the cause.
            name = getattr(item, "__qualname__", None) or repr(item)
            return Rejection(
                request.path,
                500,
                f"ScriptedServer: the responder {name} raised {type(exc).__name__}: {exc}",
                dict(request),
                kind="responder_error",
                exception=exc,
                traceback="".join(traceback.format_exception(exc)),
            )
        return made

    async def _exhausted(self, connection: Connection, path: str, body: Any) -> bool:
        what = "chat" if path == _CHAT else "transcription"
        error = InvalidRequest(
            f"ScriptedServer: no scripted {what} reply left for this request to {path}; "
            f"script more with server.add{'' if path == _CHAT else '_transcripts'}(Reply...) "
            "or pass default=",
            status=500,
            kind="InternalServerError",
        )
        return await self._reject(connection, path, error, body, kind="unscripted")

    async def _reject(
        self,
        connection: Connection,
        path: str,
        error: InvalidRequest,
        body: Any,
        *,
        kind: RejectionKind = "invalid",
    ) -> bool:
        self.rejections.append(Rejection(path, error.status, error.message, body, kind=kind))
        await _json(connection, error.status, error_body(error.status, error.message, error.kind))
        return True

    async def _refuse(self, connection: Connection, rejection: Rejection) -> bool:
        self.rejections.append(rejection)
        body = error_body(rejection.status, rejection.message, "InternalServerError")
        await _json(connection, rejection.status, body)
        return True


async def _json(connection: Connection, status: int, data: Any) -> None:
    await connection.respond(status, json.dumps(data).encode(), "application/json")
