"""Model-output faults: what a confused or adversarial model can send, through `Agent.ask`."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from voxagent import Agent, ModelSettings, tool
from voxagent.events import ErrorEvent, Event
from voxagent.testing import Reply, ScriptedCall, ScriptedServer

from .conftest import assert_next_turn_works, assert_paired

pytestmark = pytest.mark.anyio


@tool
def set_light(room: Literal["kitchen", "bedroom"], on: bool) -> str:
    """Switch a light on or off.

    Args:
        room: Which room's light.
        on: True to switch on.
    """
    return f"{room} {'on' if on else 'off'}"


def tool_results(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("stream", [True, False])
async def test_malformed_tool_call_json_is_reported_to_the_model_and_the_turn_completes(
    stream: bool,
) -> None:
    broken = Reply.tool_calls(ScriptedCall("set_light", '{"room": "kitchen", "on": tr'))
    async with ScriptedServer([broken, Reply.text("Let me retry.")]) as server:
        async with Agent(
            base_url=server.base_url, tools=[set_light], settings=ModelSettings(stream=stream)
        ) as agent:
            turn = await agent.ask(text="kitchen on")
            assert turn.tool_calls[0].result.error_kind == "invalid_json"
            assert "JSON" in tool_results(server.requests[1])[0]["content"]
            await assert_next_turn_works(agent, server)


async def test_unknown_tool_name_gets_an_error_listing_the_real_tools() -> None:
    async with ScriptedServer(
        [Reply.tool_call("SET_LIGHT", {"room": "kitchen", "on": True}), Reply.text("Sorry.")]
    ) as server:
        async with Agent(base_url=server.base_url, tools=[set_light]) as agent:
            turn = await agent.ask(text="kitchen on")
            assert turn.tool_calls[0].result.error_kind == "unknown_tool"
            assert "set_light" in tool_results(server.requests[1])[0]["content"]
            await assert_next_turn_works(agent, server)


async def test_invalid_arguments_are_explained_then_the_corrected_call_runs() -> None:
    async with ScriptedServer(
        [
            Reply.tool_call("set_light", {"room": "attic", "on": "perhaps"}),
            Reply.tool_call("set_light", {"room": "bedroom", "on": True}),
            Reply.text("Bedroom on."),
        ]
    ) as server:
        async with Agent(base_url=server.base_url, tools=[set_light]) as agent:
            turn = await agent.ask(text="attic on")
            first, second = turn.tool_calls
            assert first.result.error_kind == "invalid_arguments"
            assert "attic" in first.result.content
            assert second.result.content == "bedroom on"
            await assert_next_turn_works(agent, server)


async def test_the_same_call_repeated_forever_stops_at_max_tool_rounds() -> None:
    forever = Reply.tool_call("set_light", {"room": "kitchen", "on": True})
    events: list[Event] = []
    async with ScriptedServer(default=forever) as server:
        async with Agent(base_url=server.base_url, tools=[set_light], max_tool_rounds=3) as agent:
            await agent.ask(text="loop", on_event=events.append)
            kinds = [e.error_type for e in events if isinstance(e, ErrorEvent)]
            assert kinds == ["MaxToolRounds"]
            assert len(server.requests) == 5  # 3 rounds, 1 refused round, 1 forced "none"
            await assert_next_turn_works(agent, server)


@pytest.mark.parametrize("stream", [True, False])
async def test_empty_content_and_no_tool_calls_is_an_empty_answer_event(stream: bool) -> None:
    events: list[Event] = []
    async with ScriptedServer([Reply.text("")]) as server:
        async with Agent(base_url=server.base_url, settings=ModelSettings(stream=stream)) as agent:
            turn = await agent.ask(text="hello", on_event=events.append)
            assert turn.text == ""
            assert [e.error_type for e in events if isinstance(e, ErrorEvent)] == ["EmptyAnswer"]
            await assert_next_turn_works(agent, server)


@pytest.mark.parametrize("stream", [True, False])
async def test_twenty_parallel_tool_calls_all_run_and_are_all_answered_in_order(
    stream: bool,
) -> None:
    calls = [("set_light", {"room": "kitchen", "on": i % 2 == 0}) for i in range(20)]
    async with ScriptedServer([Reply.tool_calls(*calls), Reply.text("All done.")]) as server:
        async with Agent(
            base_url=server.base_url, tools=[set_light], settings=ModelSettings(stream=stream)
        ) as agent:
            turn = await agent.ask(text="toggle twenty times")
            assert len(turn.tool_calls) == 20
            results = tool_results(server.requests[1])
            assert [m["content"] for m in results] == [
                "kitchen on" if i % 2 == 0 else "kitchen off" for i in range(20)
            ]
            await assert_next_turn_works(agent, server)


@pytest.mark.parametrize(
    "ids",
    [
        ["call_1"],
        ["a-b"],
        ["call_0123456789abcdefghij"],
        ["x", "x"],  # duplicated in one message
        ["", "call_2"],
    ],
    ids=["short", "punctuation", "long", "duplicate", "empty"],
)
async def test_tool_call_ids_of_the_wrong_shape_are_repaired_so_the_server_accepts_them(
    ids: list[str],
) -> None:
    calls = [
        ScriptedCall("set_light", {"room": "kitchen", "on": True}, id=call_id) for call_id in ids
    ]
    async with ScriptedServer([Reply.tool_calls(*calls), Reply.text("ok")]) as server:
        async with Agent(base_url=server.base_url, tools=[set_light]) as agent:
            turn = await agent.ask(text="go")
            assert len(turn.tool_calls) == len(ids)
            await assert_next_turn_works(agent, server)
    assert_paired(server.requests[1]["messages"])
    sent = [c["id"] for c in server.requests[1]["messages"][1]["tool_calls"]]
    assert len(set(sent)) == len(sent)
