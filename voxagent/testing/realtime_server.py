"""A scriptable realtime transcription server on loopback, for testing live captions.

`RealtimeTestServer` follows vLLM's `/v1/realtime` protocol as a real vLLM server does (the same
messages, the same error codes in the same situations), or Mistral's hosted protocol with
`protocol="mistral"`, and lets a test script what a random-weight model cannot show: chosen
deltas, empty pad deltas, a slow server, a server that never answers, errors, a closed socket.
`TcpRelay` sits between a client and any server and cuts the TCP connections on demand, the way a
network failure does (no websocket close frame).

    async with RealtimeTestServer(script=[["Turn", " on", " the light"]]) as server:
        async with RealtimeTranscriber(server.base_url, server.model) as rt:
            text = await rt.transcribe_text(frames)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.abc
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

__all__ = ["RealtimeTestServer", "TcpRelay"]

_BYTES_PER_TOKEN = 2560  # 80 ms of PCM16 at 16 kHz: the real model's step


class RealtimeTestServer:
    """A websocket server speaking vLLM's (or Mistral's) realtime transcription protocol.

    Args:
        model: The only model name accepted.
        script: Deltas per utterance, in order (the k-th completed utterance uses `script[k]`,
            the last one repeating); one delta is sent per 80 ms of audio received, the rest
            at the final commit. Default: " w0", " w1", ... one per 80 ms.
        pad_deltas: Send an empty delta before every scripted one, as a real model's pad tokens.
        delta_delay: Seconds to wait before each delta or done (a slow server).
        never_answer: Accept everything, answer nothing (no delta, no done).
        error_after_appends: `(n, code)`: send an `error` with `code` after the n-th append.
        close_after_bytes: Close the socket (code 1001) after this much audio on a connection.
        closes: How many connections `close_after_bytes` applies to (the first ones).
        protocol: "vllm" or "mistral".

    Attributes:
        received: Every client message, decoded, in arrival order, over all connections.
        connections: Connections accepted so far.
        authorizations: The Authorization header values of each connection's handshake.
    """

    def __init__(
        self,
        *,
        model: str = "voxtral-realtime-test",
        script: Sequence[Sequence[str]] | None = None,
        pad_deltas: bool = False,
        delta_delay: float = 0.0,
        never_answer: bool = False,
        error_after_appends: tuple[int, str] | None = None,
        close_after_bytes: int | None = None,
        closes: int = 1,
        protocol: Literal["vllm", "mistral"] = "vllm",
    ) -> None:
        self.model = model
        self._script = [list(deltas) for deltas in script] if script else None
        self._pad = pad_deltas
        self._delay = delta_delay
        self._silent = never_answer
        self._error_after = error_after_appends
        self._close_after = close_after_bytes
        self._closes = closes
        self._protocol = protocol
        self.received: list[dict[str, Any]] = []
        self.connections = 0
        self.authorizations: list[list[str]] = []
        self._completed = 0
        self._server: Server | None = None

    @property
    def port(self) -> int:
        """The loopback port the server listens on."""
        if self._server is None:
            raise RuntimeError("RealtimeTestServer is not started: use `async with`")
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL to give a transcriber ("http://127.0.0.1:PORT/v1")."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def __aenter__(self) -> RealtimeTestServer:
        self._server = await serve(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _deltas(self) -> list[str]:
        if self._script is None:
            return [f" w{i}" for i in range(10_000)]
        deltas = self._script[min(self._completed, len(self._script) - 1)]
        return [piece for delta in deltas for piece in ([""] if self._pad else []) + [delta]]

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        if ws.request is not None:
            self.authorizations.append(ws.request.headers.get_all("Authorization"))
        session = _Session(self, ws, may_close=self.connections <= self._closes)
        path = ws.request.path if ws.request is not None else ""
        if self._protocol == "mistral":
            model = parse_qs(urlsplit(path).query).get("model", [""])[0]
            if model != self.model:
                await session.error("model_not_found", f"Invalid model: {model}", 3001)
                await ws.close(1008)
                return
            await session.send({"type": "session.created", "session": self._mistral_session()})
        else:
            await session.send(
                {"type": "session.created", "id": f"sess-{self.connections}", "created": 0}
            )
        try:
            async for raw in ws:
                if isinstance(raw, bytes):
                    # vLLM's server only reads text frames: a binary one kills the connection.
                    await ws.close(1011, "binary frame")
                    return
                if not await session.handle(raw):
                    return
        except ConnectionClosed:
            return

    def _mistral_session(self) -> dict[str, Any]:
        audio_format = {"encoding": "pcm_s16le", "sample_rate": 16_000}
        return {"request_id": "req-test", "model": self.model, "audio_format": audio_format}


class _Session:
    """One connection's protocol state."""

    def __init__(self, server: RealtimeTestServer, ws: ServerConnection, *, may_close: bool):
        self.server = server
        self.ws = ws
        self.may_close = may_close
        self.validated = server._protocol == "mistral"
        self.generating = False
        self.appends = 0
        self.audio = 0
        self.sent: list[str] = []
        self.pending: list[str] = []
        self.turn_detection = False

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def error(self, code: str, message: str, mistral_code: int = 3000) -> None:
        if self.server._protocol == "mistral":
            await self.send({"type": "error", "error": {"message": message, "code": mistral_code}})
        else:
            await self.send({"type": "error", "error": message, "code": code})

    async def handle(self, raw: str) -> bool:
        """Process one client message; return False once the connection should end."""
        try:
            message = json.loads(raw)
        except ValueError:
            await self.error("invalid_json", "Invalid JSON")
            return True
        self.server.received.append(message)
        kind = message.get("type") if isinstance(message, dict) else None
        mistral = self.server._protocol == "mistral"
        if kind == "session.update":
            if mistral:
                await self._update_session(message.get("session"))
            elif "model" not in message:
                await self.error("invalid_event", "'model'")  # vLLM's KeyError text
            elif message["model"] != self.server.model:
                missing = f"The model `{message['model']}` does not exist."
                await self.error("model_not_found", missing)
            else:
                self.validated = True
        elif kind in ("input_audio_buffer.append", "input_audio.append"):
            return await self._append(message)
        elif kind == "input_audio_buffer.commit" and not mistral:
            if not self.validated:
                await self.error("model_not_validated", "Model not validated.")
            elif message.get("final"):
                await self._finish()
            else:
                self.generating = True
                self.pending = self.server._deltas()
        elif kind == "input_audio.flush" and mistral:
            pass
        elif kind == "input_audio.end" and mistral:
            if self.turn_detection and self.generating:
                end = {"type": "turn.end", "time_s": self.audio / 32_000, "end_reason": "threshold"}
                await self.send(end)
            await self._finish()
        else:
            await self.error("unknown_event", f"Unknown event type: {kind}")
        return True

    async def _update_session(self, session: Any) -> None:
        # Like Mistral's hosted API (Voxtral 3): settings lock at the first audio chunk.
        if self.appends:
            await self.error(
                "invalid_event", "Session fields cannot be changed after audio has started"
            )
            return
        fields = dict(session) if isinstance(session, dict) else {}
        self.turn_detection = isinstance(fields.get("turn_detection"), dict)
        fields.setdefault("audio_format", {"encoding": "pcm_s16le", "sample_rate": 16_000})
        settings = {"request_id": f"req-{self.server.connections}", "model": self.server.model}
        await self.send({"type": "session.updated", "session": settings | fields})

    async def _append(self, message: dict[str, Any]) -> bool:
        audio = message.get("audio")
        if not isinstance(audio, str):
            await self.error("processing_error", "audio must be a string")
            return True
        try:
            pcm = base64.b64decode(audio)
        except (binascii.Error, ValueError):
            pcm = b""
        if not pcm or len(pcm) % 2:
            await self.error("invalid_audio", "Invalid audio data")
            return True
        if self.server._protocol == "mistral" and not self.generating:
            self.generating, self.pending = True, self.server._deltas()
            if self.turn_detection:
                await self.send({"type": "turn.start", "time_s": 0.0})
        self.appends += 1
        before, self.audio = self.audio, self.audio + len(pcm)
        error = self.server._error_after
        if error is not None and self.appends == error[0]:
            await self.error(error[1], f"scripted error {error[1]}")
        limit = self.server._close_after
        if self.may_close and limit is not None and self.audio >= limit:
            await self.ws.close(1001, "scripted close")
            return False
        if self.generating:
            for _ in range(self.audio // _BYTES_PER_TOKEN - before // _BYTES_PER_TOKEN):
                if self.pending:
                    await self._delta(self.pending.pop(0))
        return True

    async def _delta(self, text: str) -> None:
        if self.server._silent:
            return
        if self.server._delay:
            await anyio.sleep(self.server._delay)
        self.sent.append(text)
        kind = "transcription.text.delta" if self.server._protocol == "mistral" else None
        if kind:
            await self.send({"type": kind, "text": text})
        else:
            await self.send({"type": "transcription.delta", "delta": text})

    async def _finish(self) -> None:
        if not self.generating:
            return  # like vLLM: a final commit without a plain commit first returns nothing
        if self.server._script is not None:
            while self.pending:
                await self._delta(self.pending.pop(0))
        self.generating = False
        if self.server._silent:
            return
        if self.server._delay:
            await anyio.sleep(self.server._delay)
        text = "".join(self.sent)
        tokens = self.audio // _BYTES_PER_TOKEN
        usage = {"prompt_tokens": tokens, "completion_tokens": len(self.sent)}
        done: dict[str, Any] = {"type": "transcription.done", "text": text, "usage": usage}
        if self.server._protocol == "mistral":
            done |= {"model": self.server.model, "language": None}
        await self.send(done)
        self.server._completed += 1
        self.sent, self.audio = [], 0


class TcpRelay:
    """Relays TCP connections from a loopback port to `target_port`, and can cut them.

    Args:
        target_port: The loopback port to relay to.

    Attributes:
        accepted: Connections relayed so far.
    """

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._tg: anyio.abc.TaskGroup | None = None
        self._listener: anyio.abc.Listener[anyio.abc.SocketStream] | None = None
        self._links: list[anyio.CancelScope] = []
        self._port = 0
        self.accepted = 0

    @property
    def port(self) -> int:
        """The loopback port clients connect to."""
        assert self._port, "use `async with TcpRelay(...)`"
        return self._port

    def base_url(self, path: str = "/v1") -> str:
        """An http base URL through the relay ("http://127.0.0.1:PORT/v1")."""
        return f"http://127.0.0.1:{self.port}{path}"

    def cut(self) -> None:
        """Close every relayed connection now, with no websocket closing handshake."""
        for scope in self._links:
            scope.cancel()
        self._links.clear()

    async def __aenter__(self) -> TcpRelay:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        port = int(listener.extra(anyio.abc.SocketAttribute.local_port))
        self._listener = listener
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._listener.serve, self._relay)
        self._port = port
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tg is not None and self._listener is not None
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(exc_type, exc, tb)
        await self._listener.aclose()

    async def _relay(self, client: anyio.abc.SocketStream) -> None:
        self.accepted += 1
        scope = anyio.CancelScope()
        self._links.append(scope)
        with scope:
            async with client, await anyio.connect_tcp("127.0.0.1", self._target) as upstream:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_pipe, client, upstream)
                    tg.start_soon(_pipe, upstream, client)


async def _pipe(src: anyio.abc.SocketStream, dst: anyio.abc.SocketStream) -> None:
    try:
        async for chunk in src:
            await dst.send(chunk)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        pass
    finally:
        # One side ended: end the other too, as a real broken link does.
        await dst.aclose()
