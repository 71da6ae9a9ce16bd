"""Tool faults: tools that raise, hang, return junk or huge results, are cancelled or denied."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import pytest

from voxagent import Agent, ToolError, tool
from voxagent.approval import ApprovalRequest
from voxagent.events import Event, ToolCallFinished
from voxagent.testing import Reply, ScriptedServer
from voxagent.tools.result import DEFAULT_MAX_RESULT_CHARS

from .conftest import assert_next_turn_works

pytestmark = pytest.mark.anyio


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def _run_one_call(tool_obj: Any, **agent_options: Any) -> tuple[Any, list[dict[str, Any]]]:
    """One turn calling `tool_obj` once; returns the call record and what the model was sent."""
    async with ScriptedServer(
        [Reply.tool_call(tool_obj.name, {}), Reply.text("Handled.")]
    ) as server:
        async with Agent(base_url=server.base_url, tools=[tool_obj], **agent_options) as agent:
            turn = await agent.ask(text="go")
            assert turn.text == "Handled."
            await assert_next_turn_works(agent, server)
        return turn.tool_calls[0], tool_results(server.requests[1])


async def test_a_raising_tool_becomes_an_error_result_naming_the_exception() -> None:
    @tool
    def explode() -> str:
        """Fail."""
        raise KeyError("missing-sensor")

    record, sent = await _run_one_call(explode)
    assert record.result.error_kind == "raised"
    assert "KeyError" in sent[0]["content"] and "missing-sensor" in sent[0]["content"]


async def test_a_tool_error_message_goes_to_the_model_without_a_traceback() -> None:
    @tool
    def refuse() -> str:
        """Refuse."""
        raise ToolError("The garage has no light.")

    record, sent = await _run_one_call(refuse)
    assert record.result.error_kind == "tool_error"
    assert sent[0]["content"].endswith("The garage has no light.")
    assert "Traceback" not in sent[0]["content"]


async def test_an_async_tool_hanging_past_its_timeout_is_reported_as_timed_out() -> None:
    @tool(timeout=0.2)
    async def hang() -> str:
        """Never finish."""
        await anyio.sleep_forever()
        return "never"

    record, sent = await _run_one_call(hang)
    assert record.result.error_kind == "timeout"
    assert "timed out" in sent[0]["content"]


async def test_a_sync_tool_hanging_past_its_timeout_is_abandoned_and_reported() -> None:
    release = threading.Event()

    @tool(timeout=0.2)
    def block() -> str:
        """Block a thread."""
        release.wait(10)
        return "late"

    try:
        record, sent = await _run_one_call(block)
    finally:
        release.set()  # let the abandoned worker thread end
    assert record.result.error_kind == "timeout"
    assert "timed out" in sent[0]["content"]


async def test_an_unserialisable_result_becomes_an_error_result() -> None:
    @tool
    def weird() -> Any:
        """Return junk."""
        return object()

    record, sent = await _run_one_call(weird)
    assert record.result.error_kind == "unserialisable"
    assert "weird" in sent[0]["content"]


async def test_a_ten_megabyte_result_is_capped_before_it_reaches_the_model() -> None:
    @tool
    def dump() -> str:
        """Return a lot."""
        return "x" * (10 * 1024 * 1024)

    record, sent = await _run_one_call(dump)
    assert len(sent[0]["content"]) <= DEFAULT_MAX_RESULT_CHARS
    assert len(record.result.content) <= DEFAULT_MAX_RESULT_CHARS


async def test_a_tool_cancelled_mid_run_gets_a_cancelled_result_and_the_next_turn_works() -> None:
    started = anyio.Event()
    finished: list[str] = []

    @tool
    async def slow() -> str:
        """Take long."""
        started.set()
        await anyio.sleep(30)
        finished.append("slow")
        return "done"

    events: list[Event] = []
    async with ScriptedServer([Reply.tool_call("slow", {})]) as server:
        async with Agent(base_url=server.base_url, tools=[slow]) as agent:
            async with anyio.create_task_group() as tg:

                async def ask() -> None:
                    await agent.ask(text="slow please", on_event=events.append)

                tg.start_soon(ask)
                await started.wait()
                tg.cancel_scope.cancel()  # what listen's barge-in does to the turn's scope
            assert agent.conversation.pending_tool_calls() == []
            await assert_next_turn_works(agent, server)
    assert finished == []
    [done] = [e for e in events if isinstance(e, ToolCallFinished)]
    assert done.is_error and "interrupted" in done.result
    assert "interrupted" in tool_results(server.requests[1])[0]["content"]


@pytest.mark.parametrize("policy", ["ask", "never", "callback-no", "callback-raises"])
async def test_a_denied_confirm_tool_does_not_run_and_the_model_is_told(policy: str) -> None:
    ran: list[str] = []

    @tool(confirm=True)
    def unlock() -> str:
        """Unlock the door."""
        ran.append("unlock")
        return "unlocked"

    async def say_no(request: ApprovalRequest) -> bool:
        return False

    async def broken(request: ApprovalRequest) -> bool:
        raise RuntimeError("approval UI crashed")

    approval: Any = {"callback-no": say_no, "callback-raises": broken}.get(policy, policy)
    record, sent = await _run_one_call(unlock, approval=approval)
    assert ran == []
    assert record.result.error_kind == "denied"
    assert "unlock" in sent[0]["content"]
