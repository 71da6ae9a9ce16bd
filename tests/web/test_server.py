"""The `voxagent web` server over real sockets: uvicorn, the websocket protocol, the agents.

A websocket client (the `websockets` library) plays the browser: it sends real speech as 20 ms
PCM16 frames and reads the events. The model is a `ScriptedServer` (validating every request
as vLLM does). The browser itself is tested in tests/integration/test_web_browser.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx
import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from voxagent import Agent, RunContext, VoiceSettings, events as ev, tool
from voxagent.audio.convert import float_to_pcm16
from voxagent.errors import ConfigurationError
from voxagent.testing import Reply, ScriptedServer
from voxagent.web.agents import VisitorAgents
from voxagent.web.app import create_app
from voxagent.web.command import _serve
from voxagent.web.visitor import VisitorSettings

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

SILENCE = float_to_pcm16(np.zeros(320, dtype=np.float32))


@dataclass
class Home:
    lights: dict[str, bool] = field(default_factory=dict)
    unlocked: bool = False


@tool
def set_light(ctx: RunContext[Home], room: Literal["kitchen", "bedroom"], on: bool) -> str:
    """Switch a light on or off.

    Args:
        room: Which room's light.
        on: True to switch on.
    """
    ctx.deps.lights[room] = on
    return f"{room} light {'on' if on else 'off'}"


@tool(confirm=True)
def unlock_door(ctx: RunContext[Home]) -> str:
    """Unlock the front door."""
    ctx.deps.unlocked = True
    return "unlocked"


@dataclass
class Web:
    """A running `voxagent web` app: its address, operator log, and the visitors' agents."""

    host: str
    log: list[str]
    made: list[Agent[Any]]
    visitors: list[Agent[Any]] = field(default_factory=list)  # the agents visitors were given

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}/ws"

    async def health(self) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://{self.host}/healthz")
        body: dict[str, Any] = response.json()
        return body


@contextlib.asynccontextmanager
async def web_server(
    base_url: str,
    *,
    factory: Callable[[], Agent[Any]] | None = None,
    template: Agent[Any] | None = None,
    token: str | None = None,
    max_visitors: int = 16,
) -> AsyncIterator[Web]:
    made: list[Agent[Any]] = []

    def make() -> Agent[Any]:
        # Numbered (0: the check at start-up, then each visitor), so a scripted model can tell
        # whose request it answers.
        agent = (
            factory()
            if factory is not None
            else Agent(
                base_url=base_url,
                tools=[set_light, unlock_door],
                deps=Home(),
                instructions=f"You are assistant {len(made)}.",
                # Silence decides: "Front ... center" pauses 0.36 s between its words, where the
                # turn model may end the turn, and whether that half turn has acted before the
                # user goes on is a race. These tests are about the web app (end of turn has
                # its own tests), so each spoken command here is one turn.
                voice=VoiceSettings(turn_detector=None),
            )
        )
        made.append(agent)
        return agent

    agents = VisitorAgents(template if template is not None else make)
    given: list[Agent[Any]] = []
    new = agents.new

    def recording() -> Any:
        given.append(new())
        return given[-1]

    agents.new = recording  # type: ignore[method-assign]
    log: list[str] = []
    app = create_app(
        agents, settings=VisitorSettings(token=token), max_visitors=max_visitors, log=log.append
    )
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    async with anyio.create_task_group() as tg:
        tg.start_soon(_serve, app, sock)
        try:
            yield Web(f"127.0.0.1:{port}", log, made, given)
        finally:
            tg.cancel_scope.cancel()
    sock.close()


@contextlib.asynccontextmanager
async def visitor(
    web: Web, *, token: str | None = None, mode: str = "hands_free", **options: Any
) -> AsyncIterator[ClientConnection]:
    async with connect(web.ws_url, **options) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token, "mode": mode}))
        yield ws


async def receive(ws: ClientConnection) -> dict[str, Any]:
    with anyio.fail_after(30):
        message = await ws.recv()
    assert isinstance(message, str)
    value: dict[str, Any] = json.loads(message)
    return value


async def until(
    ws: ClientConnection, kind: str, seen: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Read messages up to the first of type `kind` (each one also goes into `seen`)."""
    while True:
        message = await receive(ws)
        if seen is not None:
            seen.append(message)
        if message["type"] == kind:
            return message


async def speak(ws: ClientConnection, pcm: bytes) -> None:
    """Send `pcm` as a browser does, in 20 ms frames (paced faster than real time)."""
    for i in range(0, len(pcm), 640):
        await ws.send(pcm[i : i + 640])
        await anyio.sleep(0.003)


def by_content(user_turn: Reply, after_tool: Reply) -> Callable[[dict[str, Any]], Reply]:
    """Answer by what a request holds, not by its place in line.

    A listen session may send a turn's request early, at a pause inside the utterance, and
    throw the answer away when the speaker goes on (speculation): an ordered script would lose
    a reply to it.
    """

    def respond(request: dict[str, Any]) -> Reply:
        return after_tool if request["messages"][-1]["role"] == "tool" else user_turn

    return respond


def _fields(kind: type[Any]) -> set[str]:
    return {"type"} | {f.name for f in dataclasses.fields(kind)}


# ------------------------------------------------------------------ a turn


async def test_a_spoken_turn_streams_every_event_in_the_jsonl_shapes(speech_pcm: bytes) -> None:
    script = by_content(
        Reply.tool_call("set_light", {"room": "kitchen", "on": True}),
        Reply.text("The kitchen light is on.", chunk_size=5),
    )
    async with ScriptedServer(default=script) as model, web_server(model.base_url) as web:
        async with visitor(web) as ws:
            ready = await until(ws, "ready")
            assert ready["tools"] == ["set_light", "unlock_door"]
            assert ready["mode"] == "hands_free" and ready["sample_rate"] == 16000
            seen: list[dict[str, Any]] = []
            await speak(ws, speech_pcm)
            done = await until(ws, "turn_completed", seen)
        assert model.errors == []
    kinds = [m["type"] for m in seen]
    for kind in ("speech_started", "speech_ended", "turn_started", "tool_call_started"):
        assert kind in kinds
    assert (
        kinds.index("speech_ended") < kinds.index("turn_started") < kinds.index("tool_call_started")
    )
    shapes = {
        "speech_started": ev.SpeechStarted,
        "speech_ended": ev.SpeechEnded,
        "turn_started": ev.TurnStarted,
        "tool_call_started": ev.ToolCallStarted,
        "tool_call_finished": ev.ToolCallFinished,
        "assistant_text_delta": ev.AssistantTextDelta,
        "assistant_message": ev.AssistantMessage,
        "turn_completed": ev.TurnCompleted,
    }
    for message in seen:
        if message["type"] in shapes:
            assert set(message) == _fields(shapes[message["type"]]), message
    finished = next(m for m in seen if m["type"] == "tool_call_finished")
    assert finished["name"] == "set_light" and finished["result"] == "kitchen light on"
    assert not finished["is_error"]
    deltas = [m["text"] for m in seen if m["type"] == "assistant_text_delta"]
    assert len(deltas) > 1 and "".join(deltas) == "The kitchen light is on."
    assert done["text"] == "The kitchen light is on."
    assert {"endpointing", "first_token", "tools", "total"} <= set(done["timings"])
    # Each visitor's agent is its own, with a deep copy of nothing shared: the factory's deps.
    assert web.made[-1].deps.lights == {"kitchen": True}
    assert any("visitor 1 left" in line for line in web.log)


@pytest.mark.parametrize("approved", [True, False])
async def test_a_button_answers_the_confirmation_and_a_wrong_call_id_answers_nothing(
    speech_pcm: bytes, approved: bool
) -> None:
    script = by_content(Reply.tool_call("unlock_door", {}), Reply.text("Done."))
    async with ScriptedServer(default=script) as model, web_server(model.base_url) as web:
        async with visitor(web) as ws:
            await until(ws, "ready")
            await speak(ws, speech_pcm)
            asked = await until(ws, "confirmation_requested")
            assert asked["question"] == "Run unlock_door()? Say yes or no."
            await ws.send(json.dumps({"type": "confirm", "call_id": "nope12345", "approved": True}))
            refused = await until(ws, "error")
            assert "no confirmation is waiting for call 'nope12345'" in refused["message"]
            assert refused["recoverable"] is True
            await ws.send(
                json.dumps({"type": "confirm", "call_id": asked["call_id"], "approved": approved})
            )
            seen: list[dict[str, Any]] = []
            finished = await until(ws, "tool_call_finished", seen)
            await until(ws, "turn_completed")
        assert model.errors == []
    home = web.made[-1].deps
    assert home.unlocked is approved
    assert ("tool_call_started" in [m["type"] for m in seen]) is approved
    assert finished["is_error"] is not approved
    if not approved:
        assert finished["error_kind"] == "denied"


async def test_push_to_talk_takes_what_is_sent_while_the_button_is_down(
    speech_pcm: bytes,
) -> None:
    # Silence only: the VAD would hear nothing; the button alone makes the utterance.
    async with (
        ScriptedServer([Reply.text("Heard you.")]) as model,
        web_server(model.base_url) as web,
    ):
        async with visitor(web, mode="push_to_talk") as ws:
            assert (await until(ws, "ready"))["mode"] == "push_to_talk"
            assert (await until(ws, "mode"))["mode"] == "push_to_talk"
            for _ in range(10):
                await ws.send(SILENCE)
            await ws.send(json.dumps({"type": "talk", "pressed": True}))
            for _ in range(40):
                await ws.send(SILENCE)
                await anyio.sleep(0.003)
            started = await until(ws, "speech_started")
            await ws.send(json.dumps({"type": "talk", "pressed": False}))
            for _ in range(5):
                await ws.send(SILENCE)
            ended = await until(ws, "speech_ended")
            done = await until(ws, "turn_completed")
        assert model.errors == []
    assert started["while_busy"] is False
    assert 0.6 <= ended["duration"] <= 1.0  # the 40 frames sent while pressed (0.8 s)
    assert done["text"] == "Heard you."


async def test_switching_modes_restarts_listening_in_the_other_mode(speech_pcm: bytes) -> None:
    async with ScriptedServer(default=Reply.text("Hands-free again.")) as model:
        async with web_server(model.base_url) as web, visitor(web) as ws:
            await until(ws, "ready")
            assert (await until(ws, "mode"))["mode"] == "hands_free"
            await ws.send(json.dumps({"type": "mode", "mode": "push_to_talk"}))
            assert (await until(ws, "mode"))["mode"] == "push_to_talk"
            await ws.send(json.dumps({"type": "mode", "mode": "hands_free"}))
            assert (await until(ws, "mode"))["mode"] == "hands_free"
            await speak(ws, speech_pcm)  # the endpointer decides again
            assert (await until(ws, "turn_completed"))["text"] == "Hands-free again."


# ------------------------------------------------------------------ visitors


async def test_two_visitors_have_separate_conversations_and_one_leaving_mid_turn_harms_none(
    speech_pcm: bytes,
) -> None:
    leaving_request = anyio.Event()

    async def respond(request: dict[str, Any]) -> Reply:
        messages = request["messages"]
        if "You are assistant 2." in json.dumps(messages):  # the visitor who leaves
            leaving_request.set()
            await anyio.sleep(60)  # they are gone long before this answer
            return Reply.text("never seen")
        if messages[-1]["role"] == "tool":
            return Reply.text("Bedroom on.")
        if sum(1 for m in messages if m["role"] == "user") == 1:
            return Reply.tool_call("set_light", {"room": "bedroom", "on": True})
        return Reply.text("Still here.")

    async with ScriptedServer(default=respond) as model, web_server(model.base_url) as web:
        async with visitor(web) as staying:
            await until(staying, "ready")
            async with visitor(web) as leaving:
                await until(leaving, "ready")
                assert (await web.health())["visitors"] == 2
                await speak(leaving, speech_pcm)
                await until(leaving, "turn_started")
                with anyio.fail_after(30):
                    await leaving_request.wait()
                # The other visitor talks while the first one's turn is in flight.
                await speak(staying, speech_pcm)
                seen: list[dict[str, Any]] = []
                first = await until(staying, "turn_completed", seen)
                assert first["text"] == "Bedroom on."
            # The first visitor closed the tab mid-turn.
            with anyio.fail_after(10):
                # Polled like a monitor would: the endpoint is what is under test.
                while (await web.health())["visitors"] != 1:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            # Their agent is closed (its client gone); the staying visitor's is still up.
            assert web.visitors[1].deps is web.made[2].deps
            with pytest.raises(ConfigurationError, match="not started"):
                _ = web.visitors[1].client
            assert web.visitors[0].client is not None
            await speak(staying, speech_pcm)
            second = await until(staying, "turn_completed")
            assert second["text"] == "Still here."
        assert model.errors == []
    # made[0] is the factory's check at start-up; then the visitors in the order they came.
    staying_agent, leaving_agent = web.made[1], web.made[2]
    assert staying_agent.deps.lights == {"bedroom": True}
    assert leaving_agent.deps.lights == {}
    # The staying visitor's last request holds its own two turns and the tool round, nothing
    # of the other visitor's.
    last = model.requests[-1]["messages"]
    assert sum(1 for m in last if m["role"] == "user") == 2
    assert [m["content"] for m in last if m["role"] == "assistant" and m.get("content")] == [
        "Bedroom on."
    ]
    assert not any(m["type"] == "error" for m in seen)
    assert any("visitor 2 left" in line for line in web.log)  # the leaving one (2nd to come)


async def test_a_visitor_whose_agent_cannot_start_is_told_and_the_server_stays_up() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"  # nothing listens there
    async with web_server(dead) as web:
        async with visitor(web) as ws:
            error = await until(ws, "error")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert error["recoverable"] is False
        assert error["error_type"] == "ServerUnavailableError"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
        assert await web.health() == {"ok": True, "visitors": 0}


async def test_a_failing_visitor_does_not_disturb_another(speech_pcm: bytes) -> None:
    calls = 0

    async with ScriptedServer(default=Reply.text("Fine.")) as model:

        def factory() -> Agent[Any]:
            nonlocal calls
            calls += 1
            if calls == 3:  # the check at start-up, the first visitor, then this one
                raise RuntimeError("the app's database is gone")
            return Agent(base_url=model.base_url, tools=[set_light], deps=Home())

        async with web_server(model.base_url, factory=factory) as web:
            async with visitor(web) as first:
                await until(first, "ready")
                async with visitor(web) as second:
                    failed = await until(second, "error")
                    assert "the app's database is gone" in failed["message"]
                await speak(first, speech_pcm)
                assert (await until(first, "turn_completed"))["text"] == "Fine."


class FragileDeps:
    """App state whose copy for a visitor fails after the first few: an unexpected bug."""

    copies = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> FragileDeps:
        FragileDeps.copies += 1
        if FragileDeps.copies == 3:  # the check at start-up, the first visitor, then this one
            raise RuntimeError("copy failed")
        return FragileDeps()


async def test_an_unexpected_failure_is_one_line_for_that_visitor_only(speech_pcm: bytes) -> None:
    async with ScriptedServer(default=Reply.text("Fine.")) as model:
        template = Agent(base_url=model.base_url, deps=FragileDeps())
        async with web_server(model.base_url, template=template) as web:
            async with visitor(web) as first:
                await until(first, "ready")
                async with visitor(web) as second:
                    error, code = await _refusal(second)
                await speak(first, speech_pcm)
                assert (await until(first, "turn_completed"))["text"] == "Fine."
            assert await web.health() == {"ok": True, "visitors": 0}
    assert error == {
        "type": "error",
        "message": "the server failed: RuntimeError",
        "error_type": "InternalError",
        "hint": "reload the page; the server's log has the details",
        "recoverable": False,
    }
    assert code == 1011


async def test_past_max_visitors_a_visitor_is_asked_to_come_back_later() -> None:
    async with ScriptedServer() as model, web_server(model.base_url, max_visitors=1) as web:
        async with visitor(web) as first:
            await until(first, "ready")
            async with connect(web.ws_url) as second:  # told at once, before any hello
                error = await until(second, "error")
                with pytest.raises(ConnectionClosed) as closed:
                    await second.recv()
    assert error["message"] == "the server already has its 1 visitors"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013


# ------------------------------------------------------------------ safety


async def _refusal(ws: ClientConnection) -> tuple[dict[str, Any], int]:
    error = await until(ws, "error")
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.recv()
    assert closed.value.rcvd is not None
    return error, closed.value.rcvd.code


@pytest.mark.parametrize("given", [None, "wrong-token", "s3cret-token-but-longer", "\ud800"])
async def test_a_missing_or_wrong_token_is_refused_with_a_clear_message(given: str | None) -> None:
    async with ScriptedServer() as model, web_server(model.base_url, token="s3cret-token") as web:
        async with visitor(web, token=given) as ws:
            error, code = await _refusal(ws)
        async with visitor(web, token="s3cret-token") as ws:
            assert (await until(ws, "ready"))["type"] == "ready"
    assert error["message"] == "the access token is missing or wrong"
    assert "#token=" in error["hint"] and error["recoverable"] is False
    assert code == 4401
    assert any("refused (missing or wrong token)" in line for line in web.log)


async def test_an_oversized_frame_is_refused_with_a_clear_message() -> None:
    async with ScriptedServer() as model, web_server(model.base_url) as web:
        async with visitor(web) as ws:
            await until(ws, "ready")
            await ws.send(b"\x00" * 20_000)
            error, code = await _refusal(ws)
        assert error["message"] == "an audio frame of 20000 bytes is over the limit of 16000 bytes"
        assert code == 1009
        # Far larger messages are refused by the websocket layer before they are buffered.
        async with visitor(web) as ws:
            await until(ws, "ready")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.send(b"\x00" * 200_000)
                await ws.recv()
                await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert (await web.health())["ok"] is True


async def test_a_frame_that_is_not_whole_samples_is_refused() -> None:
    async with ScriptedServer() as model, web_server(model.base_url) as web:
        async with visitor(web) as ws:
            await until(ws, "ready")
            await ws.send(b"\x00\x01\x02")
            error, code = await _refusal(ws)
    assert "not a whole number" in error["message"] and code == 1008


async def test_bad_messages_get_an_error_line_and_too_many_end_the_connection() -> None:
    async with ScriptedServer() as model, web_server(model.base_url) as web:
        async with visitor(web) as ws:
            await until(ws, "ready")
            for text, words in [
                ("not json", "not JSON"),
                ("[1, 2]", "not a JSON object"),
                ('{"type": "dance"}', 'unknown message type "dance"'),
                ('{"type": "talk", "pressed": "yes"}', "pressed must be true or false"),
                ('{"type": "hello", "token": null}', "hello was already received"),
                ("[" * 100 + "]" * 100, "not JSON"),
            ]:
                await ws.send(text)
                error = await until(ws, "error")
                assert words in error["message"] and error["recoverable"] is True
            for _ in range(20):
                await ws.send("{}")
            while (error := await until(ws, "error"))["recoverable"]:
                pass
            assert error["message"].startswith("too many bad messages")


async def test_the_first_message_must_be_hello() -> None:
    async with ScriptedServer() as model, web_server(model.base_url) as web:
        async with connect(web.ws_url) as ws:
            await ws.send(SILENCE)
            error, code = await _refusal(ws)
    assert error["message"] == "the first message must be hello, not audio" and code == 1008


async def test_a_websocket_opened_by_another_site_is_refused_before_it_opens() -> None:
    async with ScriptedServer() as model, web_server(model.base_url) as web:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(web.ws_url, origin="http://evil.example"):  # type: ignore[arg-type]
                pass
        assert refused.value.response.status_code == 403
        async with visitor(web, origin=f"http://{web.host}") as ws:  # the page's own origin
            assert (await until(ws, "ready"))["type"] == "ready"
    assert any("a websocket from another site: http://evil.example" in line for line in web.log)


async def test_on_loopback_a_request_for_another_host_name_is_refused() -> None:
    # A DNS-rebinding page would send its own name in Host.
    async with ScriptedServer() as model, web_server(model.base_url) as web:
        async with httpx.AsyncClient() as client:
            bad = await client.get(f"http://{web.host}/", headers={"Host": "evil.example"})
            good = await client.get(f"http://{web.host}/")
    assert bad.status_code == 400
    assert good.status_code == 200
    assert "connect-src 'self'" in good.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in good.headers["content-security-policy"]
