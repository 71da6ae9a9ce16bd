"""Server faults: every way the HTTP side can break, seen through `Agent.ask`.

Each test checks the four promises: no unhandled exception (a typed `VoxagentError` or a
completed turn), a clear message, a conversation the validating server still accepts, and
nothing already recorded lost.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from voxagent import Agent, ModelSettings
from voxagent.client import ModelTimeoutError
from voxagent.errors import (
    AuthenticationError,
    BadRequestError,
    ModelError,
    ModelNotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    ServerUnavailableError,
)
from voxagent.testing import Reply, ScriptedServer

from .conftest import assert_next_turn_works, hosted

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_retries")]


async def _one_fault_then_next_turn(
    fault: Reply, error: type[ModelError], *, http_client: httpx.AsyncClient | None = None
) -> tuple[ModelError, ScriptedServer, Agent[Any]]:
    """Ask once against `fault`, expect `error`, then prove the next turn is accepted."""
    async with ScriptedServer([Reply.text("first answer"), fault]) as server:
        async with Agent(base_url=server.base_url, http_client=http_client) as agent:
            await agent.ask(text="first question")
            with pytest.raises(error) as caught:
                await agent.ask(text="second question")
            exc = caught.value
            assert exc.message and "\n" not in exc.message
            await assert_next_turn_works(agent, server)
            texts = [m.get("content") for m in server.requests[-1]["messages"]]
            # Nothing recorded is lost: the first exchange and the failed user turn are kept.
            assert texts[:3] == ["first question", "first answer", "second question"]
    return exc, server, agent


# ------------------------------------------------------------ unreachable


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_raises_server_unavailable_with_a_hint() -> None:
    agent: Agent[None] = Agent(base_url=f"http://127.0.0.1:{_closed_port()}/v1")
    with pytest.raises(ServerUnavailableError) as caught:
        async with agent:
            pass
    assert caught.value.hint
    assert "127.0.0.1" in str(caught.value)


async def test_dns_failure_raises_server_unavailable_naming_the_host() -> None:
    agent: Agent[None] = Agent(base_url="http://nonexistent.invalid:8000/v1")
    with pytest.raises(ServerUnavailableError) as caught:
        async with agent:
            pass
    assert "nonexistent.invalid" in str(caught.value)
    assert caught.value.hint


async def test_tls_to_a_plain_http_server_raises_server_unavailable() -> None:
    async with ScriptedServer() as server:
        agent: Agent[None] = Agent(base_url=server.base_url.replace("http://", "https://"))
        with pytest.raises(ServerUnavailableError) as caught:
            async with agent:
                pass
    assert caught.value.hint
    assert server.requests == []


async def test_server_down_mid_conversation_then_back_keeps_the_conversation() -> None:
    async with hosted(ScriptedServer([Reply.text("one")])) as host:
        server = host.server
        async with Agent(base_url=server.base_url) as agent:
            await agent.ask(text="first")
            await host.stop()
            with pytest.raises(ServerUnavailableError):
                await agent.ask(text="while down")
            await host.start()
            await assert_next_turn_works(agent, server)
    roles = [m["role"] for m in server.requests[-1]["messages"]]
    assert roles == ["user", "assistant", "user", "user"]


async def test_server_restart_between_turns_is_invisible_to_the_agent() -> None:
    async with hosted(ScriptedServer([Reply.text("one")])) as host:
        server = host.server
        async with Agent(base_url=server.base_url) as agent:
            await agent.ask(text="first")
            await host.stop()
            await host.start()
            await assert_next_turn_works(agent, server)


# ------------------------------------------------------------ HTTP statuses


@pytest.mark.parametrize("status", [502, 503, 504, 429])
async def test_transient_status_then_success_is_retried_and_the_turn_completes(
    status: int,
) -> None:
    async with ScriptedServer([Reply.error(status, "busy"), Reply.text("fine")]) as server:
        async with Agent(base_url=server.base_url) as agent:
            turn = await agent.ask(text="hi")
            assert turn.text == "fine"
            await assert_next_turn_works(agent, server)
    assert len(server.requests) == 3


async def test_429_with_retry_after_is_honoured_then_the_turn_completes() -> None:
    slow = Reply.error(429, "slow down", headers={"Retry-After": "0"})
    async with ScriptedServer([slow, Reply.text("fine")]) as server:
        async with Agent(base_url=server.base_url) as agent:
            assert (await agent.ask(text="hi")).text == "fine"
            await assert_next_turn_works(agent, server)


async def test_429_with_a_retry_after_too_long_raises_rate_limit_at_once() -> None:
    slow = Reply.error(429, "slow down", headers={"Retry-After": "3600"})
    exc, server, _ = await _one_fault_then_next_turn(slow, RateLimitError)
    assert exc.hint
    assert len(server.requests) == 3  # first, the refused one (not retried), the next turn


@pytest.mark.parametrize("status", [429, 503])
async def test_persistent_transient_status_gives_up_with_a_typed_error(status: int) -> None:
    busy = Reply.error(status, "overloaded")
    expected = RateLimitError if status == 429 else ServerError
    async with ScriptedServer([Reply.text("first answer"), busy, busy, busy]) as server:
        async with Agent(base_url=server.base_url) as agent:
            await agent.ask(text="first question")
            with pytest.raises(expected) as caught:
                await agent.ask(text="second question")
            assert "overloaded" in str(caught.value)
            assert server.pending == 0  # three attempts, then it gave up
            await assert_next_turn_works(agent, server)


async def test_500_is_not_retried_and_raises_server_error() -> None:
    exc, server, _ = await _one_fault_then_next_turn(Reply.error(500, "boom"), ServerError)
    assert "boom" in str(exc)
    assert len(server.requests) == 3


async def test_400_with_vllms_error_body_raises_bad_request_with_the_servers_message() -> None:
    bad = Reply.error(400, "Invalid tool call id: call_1")
    exc, _, _ = await _one_fault_then_next_turn(bad, BadRequestError)
    assert "Invalid tool call id" in str(exc)


async def test_401_raises_authentication_error_with_a_hint() -> None:
    exc, _, _ = await _one_fault_then_next_turn(
        Reply.error(401, "Unauthorized"), AuthenticationError
    )
    assert exc.hint


async def test_wrong_api_key_is_refused_at_start_with_authentication_error() -> None:
    async with ScriptedServer(api_key="right-key") as server:
        agent: Agent[None] = Agent(base_url=server.base_url, api_key="wrong-key")
        with pytest.raises(AuthenticationError) as caught:
            async with agent:
                pass
    assert "wrong-key" not in str(caught.value) and "right-key" not in str(caught.value)


async def test_404_model_raises_model_not_found_listing_the_served_models() -> None:
    async with ScriptedServer(model="voxtral-test") as server:
        agent: Agent[None] = Agent(model="no-such-model", base_url=server.base_url)
        with pytest.raises(ModelNotFoundError) as caught:
            async with agent:
                await agent.ask(text="hi")
    assert "voxtral-test" in f"{caught.value} {caught.value.hint}"


# ------------------------------------------------------------ timeouts and broken streams


async def test_timeout_before_headers_raises_model_timeout() -> None:
    # A timeout before any answer counts as a connection failure: retried, then reported.
    hang = Reply.hang()
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.3)) as client:
        async with ScriptedServer([hang, hang, hang]) as server:
            async with Agent(base_url=server.base_url, http_client=client) as agent:
                with pytest.raises(ModelTimeoutError) as caught:
                    await agent.ask(text="hello")
                assert caught.value.hint
                await assert_next_turn_works(agent, server)


async def test_timeout_mid_stream_raises_model_timeout_and_keeps_the_conversation() -> None:
    client = httpx.AsyncClient(timeout=httpx.Timeout(0.3))
    async with client:
        await _one_fault_then_next_turn(
            Reply.hang(after_chunks=2), ModelTimeoutError, http_client=client
        )


async def test_connection_reset_before_headers_is_retried_and_the_turn_completes() -> None:
    async with ScriptedServer([Reply.drop(), Reply.text("fine")]) as server:
        async with Agent(base_url=server.base_url) as agent:
            assert (await agent.ask(text="hi")).text == "fine"
            await assert_next_turn_works(agent, server)


async def test_connection_reset_mid_sse_raises_and_is_not_replayed() -> None:
    _, server, _ = await _one_fault_then_next_turn(
        Reply.drop(after_chunks=2), ServerUnavailableError
    )
    assert len(server.requests) == 3


async def test_connection_reset_mid_sse_after_a_tool_call_records_its_result() -> None:
    cut = Reply.tool_calls(("ping", {}), ("ping", {}), fault="drop", fault_after=3)
    ran: list[str] = []

    def ping() -> str:
        """Answer pong."""
        ran.append("ping")
        return "pong"

    async with ScriptedServer([cut]) as server:
        async with Agent(base_url=server.base_url, tools=[ping]) as agent:
            with pytest.raises(ModelError):
                await agent.ask(text="ping twice")
            assert agent.conversation.pending_tool_calls() == []
            await assert_next_turn_works(agent, server)


async def test_stream_without_done_still_completes_the_turn() -> None:
    async with ScriptedServer([Reply.text("complete answer", fault="no_done")]) as server:
        async with Agent(base_url=server.base_url) as agent:
            turn = await agent.ask(text="hi")
            assert turn.text == "complete answer"
            await assert_next_turn_works(agent, server)


async def test_stream_ending_early_raises_protocol_error() -> None:
    cut = Reply.text("an answer cut short", fault="end_early", fault_after=2)
    await _one_fault_then_next_turn(cut, ProtocolError)


async def test_malformed_sse_line_raises_protocol_error() -> None:
    await _one_fault_then_next_turn(
        Reply.text("hello there", fault="malformed_sse", fault_after=1), ProtocolError
    )


async def test_sse_data_that_is_not_json_raises_protocol_error() -> None:
    await _one_fault_then_next_turn(
        Reply.text("hello there", fault="bad_chunk_json", fault_after=1), ProtocolError
    )


@pytest.mark.parametrize("stream", [True, False])
async def test_non_json_body_raises_protocol_error_naming_the_url(stream: bool) -> None:
    async with ScriptedServer([Reply.non_json()]) as server:
        async with Agent(base_url=server.base_url, settings=ModelSettings(stream=stream)) as agent:
            with pytest.raises(ProtocolError) as caught:
                await agent.ask(text="hi")
            message = str(caught.value)
            assert "127.0.0.1" in message or "event" in message
            await assert_next_turn_works(agent, server)


@pytest.mark.parametrize("stream", [True, False])
async def test_huge_body_is_refused_with_protocol_error_not_memory_growth(stream: bool) -> None:
    async with ScriptedServer([Reply.huge(20 * 1024 * 1024)]) as server:
        async with Agent(base_url=server.base_url, settings=ModelSettings(stream=stream)) as agent:
            with pytest.raises(ProtocolError):
                await agent.ask(text="hi")
            await assert_next_turn_works(agent, server)


async def test_a_web_page_instead_of_the_api_is_one_line_naming_it_with_a_v1_hint() -> None:
    from voxagent.errors import ProtocolError

    page = (
        "<!DOCTYPE HTML>\n<html lang='en'>\n<head><title>Error response</title></head>\n"
        "<body><h1>Error response</h1><p>Error code: 404</p></body></html>\n"
    )
    async with ScriptedServer([Reply.error(404, body=page)]) as server:
        agent = Agent(base_url=server.base_url, model="voxtral-test")
        async with agent:
            with pytest.raises(ProtocolError) as raised:
                await agent.ask(text="hi")
    error = raised.value
    assert "\n" not in error.message and "<html" not in error.message
    assert "an HTML page titled 'Error response'" in error.message
    assert error.hint is not None and "/v1" in error.hint
    assert error.server_message == page.strip()  # the whole page stays on the error


async def test_a_multi_line_server_message_is_one_line_in_the_error() -> None:
    trace = "worker died\n  at line 3\n  at line 9"
    async with ScriptedServer([Reply.error(500, body=trace)]) as s:
        async with Agent(base_url=s.base_url) as agent:
            with pytest.raises(ModelError) as raised:
                await agent.ask(text="hi")
    assert raised.value.message.endswith("worker died at line 3 at line 9")
