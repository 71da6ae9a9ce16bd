"""One visitor: a websocket, an agent of their own, and `agent.listen` on their audio.

The connection's life: accept, wait for `hello` (and check the token, in constant time), start
the visitor's agent, send `ready`, then two tasks until the visitor leaves: the receive loop
(audio into the `WebSocketSource`, control messages) and the listen loop (`agent.listening`,
every event out as JSON). Switching between hands-free and push-to-talk restarts `listening`
with the other mode on the same source. Leaving (a closed tab, a dropped network, a protocol
violation) cancels both, which stops the running turn (the conversation stays valid) and
closes the agent.

Everything that can go wrong with one visitor stays with that visitor: every failure is caught
here, logged, told to the client as one `error` line when the socket still works, and the
connection is closed. No exception reaches the server or another visitor's task.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, cast

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from voxagent.audio import PushToTalk
from voxagent.errors import AudioError, VoxagentError
from voxagent.events import Event
from voxagent.web import protocol as p
from voxagent.web.agents import VisitorAgent, VisitorAgents
from voxagent.web.source import MAX_FRAME_BYTES, WebSocketSource

__all__ = ["Visitor", "VisitorSettings", "refuse"]

logger = logging.getLogger("voxagent.web")

# A client that has not said hello by then is not ours.
_HELLO_TIMEOUT_S = 10.0
# A client that does not read what it is sent for this long is gone, or hostile.
_SEND_TIMEOUT_S = 30.0
# Protocol errors a client may make before it is disconnected (each one gets an error line).
_MAX_VIOLATIONS = 20


@dataclass(frozen=True, slots=True)
class VisitorSettings:
    """What every connection shares: the token and the limits.

    Attributes:
        token: The access token visitors must send in `hello`; None: no token.
        max_frame_bytes: The largest audio message accepted.
        queue_frames: Audio messages buffered per visitor before they are dropped.
    """

    token: str | None = None
    max_frame_bytes: int = MAX_FRAME_BYTES
    queue_frames: int = 250


class _Closed(Exception):
    """The connection is over (the visitor left, or was sent away)."""


class Visitor:
    """Serves one websocket connection.

    Args:
        websocket: The accepted-to-be connection.
        agents: Makes this visitor's agent.
        settings: Token and limits.
        number: This visitor's number in the server's log.
        log: Where the operator's one-line notices go.
    """

    def __init__(
        self,
        websocket: WebSocket,
        agents: VisitorAgents,
        settings: VisitorSettings,
        number: int,
        log: Callable[[str], None],
    ) -> None:
        self.ws = websocket
        self.agents = agents
        self.settings = settings
        self.number = number
        self.log = log
        self.source = WebSocketSource(
            queue_frames=settings.queue_frames, max_frame_bytes=settings.max_frame_bytes
        )
        self.mode: p.ModeName = "hands_free"
        self.agent: VisitorAgent | None = None
        self._ptt: PushToTalk | None = None
        self._listen_scope: anyio.CancelScope | None = None
        self._send_lock = anyio.Lock()
        self._violations = 0

    async def serve(self) -> None:
        """Run the connection to its end; never raises (except cancellation)."""
        try:
            await self._serve()
        except _Closed:
            pass
        except VoxagentError as exc:
            logger.warning("visitor %d: %s", self.number, exc.message)
            await self._fail(exc.message, type(exc).__name__, exc.hint, p.CLOSE_SERVER_ERROR)
        except Exception as exc:
            logger.error("visitor %d: unexpected failure", self.number, exc_info=exc)
            await self._fail(
                f"the server failed: {type(exc).__name__}",
                "InternalError",
                "reload the page; the server's log has the details",
                p.CLOSE_SERVER_ERROR,
            )
        finally:
            self.source.close()

    async def _serve(self) -> None:
        await self.ws.accept()
        hello = await self._hello()
        self.mode = hello.mode
        started = False
        try:
            agent = self.agents.new()
            self.agent = agent
            # Leaving this block (the visitor left, or was sent away) closes the agent: its
            # running turn, its client, its tasks.
            async with agent:
                started = True
                await self._session(agent)
        except VoxagentError as exc:
            if started:
                raise  # not a start-up failure: serve() reports it
            self.log(f"visitor {self.number}: the agent could not start: {exc.message}")
            await self._fail(exc.message, type(exc).__name__, exc.hint, p.CLOSE_SERVER_ERROR)

    async def _session(self, agent: VisitorAgent) -> None:
        await self._send(
            {
                "type": "ready",
                "mode": self.mode,
                "captions": self.agents.captions,
                "tools": self.agents.tool_names,
                "sample_rate": 16000,
                "max_frame_bytes": self.settings.max_frame_bytes,
            }
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._listen_loop, agent, tg.cancel_scope)
            try:
                await self._receive_loop()
            except _Closed:
                pass  # raised in the host, it would leave the task group in a group
            finally:
                tg.cancel_scope.cancel()

    # ------------------------------------------------------------------ hello

    async def _hello(self) -> p.Hello:
        message: MutableMapping[str, Any] | None = None
        with anyio.move_on_after(_HELLO_TIMEOUT_S):
            message = await self.ws.receive()
        if message is None:
            await self._fail(
                f"no hello message within {_HELLO_TIMEOUT_S:g} s",
                "ProtocolError",
                "send {'type': 'hello', 'token': ...} first",
                p.CLOSE_PROTOCOL,
            )
            raise _Closed
        if message["type"] == "websocket.disconnect":
            raise _Closed
        text = message.get("text")
        try:
            if text is None:
                raise p.ProtocolViolation("the first message must be hello, not audio")
            hello = p.parse_client_message(text)
            if not isinstance(hello, p.Hello):
                raise p.ProtocolViolation("the first message must be hello")
        except p.ProtocolViolation as exc:
            await self._fail(exc.message, "ProtocolError", "see docs/web.md", p.CLOSE_PROTOCOL)
            raise _Closed from None
        if not self._token_ok(hello.token):
            self.log(f"visitor {self.number}: refused (missing or wrong token)")
            await self._fail(
                "the access token is missing or wrong",
                "Unauthorized",
                "open the address the server printed, with its #token=... part",
                p.CLOSE_UNAUTHORIZED,
            )
            raise _Closed
        return hello

    def _token_ok(self, given: str | None) -> bool:
        expected = self.settings.token
        if expected is None:
            return True
        # Constant time: the comparison must not tell an attacker how much of a guess was right.
        # surrogatepass: JSON can carry lone surrogates, which strict UTF-8 would raise on.
        given_bytes = (given or "").encode("utf-8", "surrogatepass")
        return hmac.compare_digest(given_bytes, expected.encode("utf-8", "surrogatepass"))

    # ---------------------------------------------------------------- receive

    async def _receive_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is not None:
                try:
                    self.source.feed(data)
                except AudioError as exc:
                    code = p.CLOSE_TOO_BIG if len(data) > self.source.max_frame_bytes else None
                    await self._violation(exc.message, code or p.CLOSE_PROTOCOL, exc.hint)
                continue
            text = message.get("text")
            if text is None:
                continue
            try:
                self._handle(p.parse_client_message(text))
            except p.ProtocolViolation as exc:
                await self._violation(exc.message, exc.close_code)

    def _handle(self, message: p.ClientMessage) -> None:
        match message:
            case p.Talk(pressed=pressed):
                if self._ptt is not None:
                    if pressed:
                        self._ptt.press()
                    else:
                        self._ptt.release()
            case p.Mode(mode=mode):
                if mode != self.mode:
                    self.mode = mode
                    if self._listen_scope is not None:
                        self._listen_scope.cancel()  # the listen loop starts again in this mode
            case p.Confirm(call_id=call_id, approved=approved):
                assert self.agent is not None
                if not self.agent.buttons.answer(call_id, approved):
                    raise p.ProtocolViolation(f"no confirmation is waiting for call {call_id!r}")
            case p.Hello():
                raise p.ProtocolViolation("hello was already received")

    async def _violation(
        self, message: str, close_code: int | None, hint: str | None = None
    ) -> None:
        self._violations += 1
        if close_code is None and self._violations > _MAX_VIOLATIONS:
            message = f"too many bad messages ({self._violations}); the last one: {message}"
            close_code = p.CLOSE_PROTOCOL
        self.log(f"visitor {self.number}: refused a message: {message}")
        if close_code is None:
            await self._send_text(p.encode_error(message, "ProtocolError", hint=hint))
            return
        await self._fail(message, "ProtocolError", hint or "see docs/web.md", close_code)
        raise _Closed

    # ----------------------------------------------------------------- listen

    async def _listen_loop(self, agent: VisitorAgent, connection: anyio.CancelScope) -> None:
        try:
            while True:
                self._ptt = PushToTalk() if self.mode == "push_to_talk" else None
                # listen() hands push_to_talk to segment(), which takes a PushToTalk button
                # (each press-to-release is one utterance) as well as an anyio.Event.
                button = cast("anyio.Event | None", self._ptt)
                with anyio.CancelScope() as scope:
                    self._listen_scope = scope
                    await self._send({"type": "mode", "mode": self.mode})
                    async with agent.listening(self.source, push_to_talk=button) as events:
                        async for event in events:
                            await self._send_event(event)
                self._listen_scope = None
                if not scope.cancelled_caught:
                    return  # the source ended: the visitor has gone
        except VoxagentError as exc:
            # The audio source failed: listening is over for this visitor.
            await self._fail(exc.message, type(exc).__name__, exc.hint, p.CLOSE_SERVER_ERROR)
        except _Closed:
            pass
        finally:
            connection.cancel()

    async def _send_event(self, event: Event) -> None:
        await self._send_text(p.encode_event(event))

    # ------------------------------------------------------------------- send

    async def _send(self, message: dict[str, Any]) -> None:
        await self._send_text(p.encode(message))

    async def _send_text(self, text: str) -> None:
        """Send one message; a client that is gone (or does not read) ends the connection."""
        async with self._send_lock:
            try:
                with anyio.fail_after(_SEND_TIMEOUT_S):
                    await self.ws.send_text(text)
            except (WebSocketDisconnect, OSError, RuntimeError, TimeoutError):
                raise _Closed from None

    async def _fail(self, message: str, error_type: str, hint: str | None, close_code: int) -> None:
        """Tell the client what went wrong (one error line), then close; never raises."""
        async with self._send_lock:
            await refuse(self.ws, message, error_type, hint, close_code)


async def refuse(
    ws: WebSocket, message: str, error_type: str, hint: str | None, close_code: int
) -> None:
    """Send one `error` line (not recoverable) on an accepted websocket, then close it.

    Never raises: a client that is already gone, or does not read, is simply let go.
    """
    text = p.encode_error(message, error_type, hint=hint, recoverable=False)
    # A close reason is at most 123 bytes of UTF-8.
    reason = message.encode()[:120].decode(errors="ignore")
    try:
        with anyio.fail_after(_SEND_TIMEOUT_S):
            await ws.send_text(text)
            await ws.close(code=close_code, reason=reason)
    except (WebSocketDisconnect, OSError, RuntimeError, TimeoutError):
        pass
