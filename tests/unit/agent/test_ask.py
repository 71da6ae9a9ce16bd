"""`Agent.ask` against the scripted server, which validates every request as vLLM does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from voxagent import Agent, ModelSettings, VoiceSettings, tool
from voxagent.approval import ApprovalRequest
from voxagent.errors import BadRequestError, ConfigurationError, ServerUnavailableError
from voxagent.events import (
    AssistantMessage,
    ErrorEvent,
    Event,
    ToolCallFinished,
    ToolCallStarted,
    TurnCompleted,
    TurnStarted,
)
from voxagent.testing import Reply, ScriptedCall, ScriptedModel, ScriptedServer

from .conftest import Home, set_light, unlock_door

pytestmark = pytest.mark.anyio


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def test_audio_turn_runs_the_tool_and_sends_the_result_back(wav: Path, home: Home) -> None:
    events: list[Event] = []
    async with ScriptedModel(
        [
            Reply.tool_call("set_light", {"room": "kitchen", "on": True}),
            Reply.text("The kitchen light is on."),
        ]
    ) as model:
        agent = Agent(model, tools=[set_light], deps=home, instructions="Hi.")
        async with agent:
            turn = await agent.ask(audio=wav, on_event=events.append)
    assert model.errors == []
    assert home.lights == {"kitchen": True}
    assert turn.text == "The kitchen light is on."
    assert [r.name for r in turn.tool_calls] == ["set_light"]
    assert turn.tool_calls[0].result.content == "kitchen light on"
    assert turn.rounds == 2
    assert turn.usage.total_tokens > 0
    assert {"prepare", "model", "tools", "total", "first_token"} <= set(turn.timings)
    # The first request carries the audio; the second the call and its result.
    first, second = model.requests
    assert any(part.get("type") == "input_audio" for part in first["messages"][0]["content"])
    assert first["tools"][0]["function"]["name"] == "set_light"
    [result] = tool_messages(second)
    assert result["content"] == "kitchen light on"
    assert result["tool_call_id"] == turn.tool_calls[0].call_id
    kinds = [type(e) for e in events]
    assert kinds[0] is TurnStarted and kinds[-1] is TurnCompleted
    assert (
        kinds.index(ToolCallStarted) < kinds.index(ToolCallFinished) < kinds.index(AssistantMessage)
    )


async def test_text_and_audio_turns_mix_in_one_conversation(wav: Path, home: Home) -> None:
    async with ScriptedModel([Reply.text("Which room?"), Reply.text("OK, bedroom.")]) as model:
        async with Agent(model, tools=[set_light], deps=home) as agent:
            await agent.ask(audio=wav)
            turn = await agent.ask(text="the bedroom")
    assert model.errors == []
    assert turn.text == "OK, bedroom."
    roles = [m["role"] for m in model.requests[1]["messages"]]
    assert roles == ["user", "assistant", "user"]


@pytest.mark.parametrize("stream", [True, False])
async def test_parallel_calls_run_concurrently(stream: bool) -> None:
    arrived: list[str] = []
    both = anyio.Event()

    @tool
    async def wait_for_peer(name: str) -> str:
        """Wait until both calls are running.

        Args:
            name: Which call this is.
        """
        arrived.append(name)
        if len(arrived) == 2:
            both.set()
        with anyio.fail_after(5):  # fails if the calls ran one after the other
            await both.wait()
        return f"{name} done"

    async with ScriptedModel(
        [
            Reply.tool_calls(("wait_for_peer", {"name": "a"}), ("wait_for_peer", {"name": "b"})),
            Reply.text("Both done."),
        ]
    ) as model:
        async with Agent(
            model, tools=[wait_for_peer], settings=ModelSettings(stream=stream)
        ) as agent:
            turn = await agent.ask(text="go")
    assert model.errors == []
    assert sorted(r.result.content for r in turn.tool_calls) == ["a done", "b done"]
    assert [m["content"] for m in tool_messages(model.requests[1])] == ["a done", "b done"]


async def test_invalid_arguments_go_back_to_the_model_which_corrects_them(home: Home) -> None:
    async with ScriptedModel(
        [
            Reply.tool_call("set_light", {"room": "garage", "on": "maybe"}),
            Reply.tool_call("set_light", {"room": "kitchen", "on": False}),
            Reply.text("Kitchen light off."),
        ]
    ) as model:
        async with Agent(model, tools=[set_light], deps=home) as agent:
            turn = await agent.ask(text="lights off in the garage")
    assert model.errors == []
    first, second = turn.tool_calls
    assert first.result.is_error and first.result.error_kind == "invalid_arguments"
    assert "room" in first.result.content and "garage" in first.result.content
    assert not second.result.is_error
    assert home.lights == {"kitchen": False}
    assert "garage" in tool_messages(model.requests[1])[0]["content"]


async def test_malformed_json_and_unknown_tools_are_reported_to_the_model(home: Home) -> None:
    async with ScriptedModel(
        [
            Reply.tool_calls(
                ScriptedCall("set_light", '{"room": "kitchen", "on": tru'),
                ScriptedCall("open_garage", {}),
            ),
            Reply.text("Sorry."),
        ]
    ) as model:
        async with Agent(model, tools=[set_light], deps=home) as agent:
            turn = await agent.ask(text="go")
    assert model.errors == []
    kinds = [r.result.error_kind for r in turn.tool_calls]
    assert kinds == ["invalid_json", "unknown_tool"]
    assert "set_light" in turn.tool_calls[1].result.content  # lists what exists
    assert home.lights == {}


async def test_confirm_tool_is_denied_in_ask_by_default_and_the_model_is_told(home: Home) -> None:
    async with ScriptedModel(
        [Reply.tool_call("unlock_door", {}), Reply.text("I did not unlock it.")]
    ) as model:
        async with Agent(model, tools=[unlock_door], deps=home) as agent:
            turn = await agent.ask(text="unlock the door")
    assert model.errors == []
    assert home.unlocked is False
    assert turn.tool_calls[0].result.error_kind == "denied"
    assert "approval" in tool_messages(model.requests[1])[0]["content"]


async def test_confirm_tool_runs_when_the_callback_approves(home: Home) -> None:
    asked: list[ApprovalRequest] = []

    async def approve(request: ApprovalRequest) -> bool:
        asked.append(request)
        return True

    async with ScriptedModel([Reply.tool_call("unlock_door", {}), Reply.text("Done.")]) as model:
        async with Agent(model, tools=[unlock_door], deps=home, approval=approve) as agent:
            await agent.ask(text="unlock the door")
    assert home.unlocked is True
    assert [r.tool_name for r in asked] == ["unlock_door"]
    assert asked[0].question == "Run unlock_door()? Say yes or no."


async def test_parallel_calls_cannot_slip_past_confirmation(home: Home) -> None:
    async with ScriptedModel(
        [
            Reply.tool_calls(
                ("set_light", {"room": "kitchen", "on": True}),
                ("unlock_door", {}),
                ("unlock_door", {}),
            ),
            Reply.text("ok"),
        ]
    ) as model:
        async with Agent(
            model, tools=[set_light, unlock_door], deps=home, approval="never"
        ) as agent:
            turn = await agent.ask(text="go")
    assert home.unlocked is False
    assert [r.result.error_kind for r in turn.tool_calls] == [None, "denied", "denied"]


async def test_max_tool_rounds_stops_the_loop_with_a_model_visible_message(home: Home) -> None:
    call = Reply.tool_call("set_light", {"room": "kitchen", "on": True})
    async with ScriptedModel([call, call, call, Reply.text("I give up.")]) as model:
        async with Agent(model, tools=[set_light], deps=home, max_tool_rounds=2) as agent:
            turn = await agent.ask(text="loop")
    assert model.errors == []
    assert len(model.requests) == 4
    assert [r["tool_choice"] for r in model.requests] == ["auto", "auto", "auto", "none"]
    assert home.log == ["set_light kitchen True"] * 2  # the third call was not run
    assert "limit" in tool_messages(model.requests[3])[-1]["content"]
    assert turn.text == "I give up."


async def test_a_model_that_ignores_tool_choice_none_still_ends_the_turn(home: Home) -> None:
    call = Reply.tool_call("set_light", {"room": "kitchen", "on": True})
    events: list[Event] = []
    async with ScriptedModel([call, call, call]) as model:
        async with Agent(model, tools=[set_light], deps=home, max_tool_rounds=1) as agent:
            turn = await agent.ask(text="loop", on_event=events.append)
            assert agent.conversation.pending_tool_calls() == []
    assert model.errors == []
    assert turn.text == ""
    assert any(isinstance(e, ErrorEvent) and e.error_type == "MaxToolRounds" for e in events)


async def test_forced_tool_choice_applies_to_the_first_request_only(home: Home) -> None:
    async with ScriptedModel(
        [Reply.tool_call("set_light", {"room": "bedroom", "on": True}), Reply.text("ok")]
    ) as model:
        async with Agent(model, tools=[set_light], deps=home) as agent:
            await agent.ask(text="bedroom on", tool_choice="set_light")
    assert model.errors == []
    assert model.requests[0]["tool_choice"] == {
        "type": "function",
        "function": {"name": "set_light"},
    }
    assert model.requests[1]["tool_choice"] == "auto"


async def test_streamed_call_starts_before_the_stream_ends() -> None:
    order: list[str] = []

    @tool
    def first() -> str:
        """The first call."""
        order.append("first ran")
        return "ok"

    @tool
    def second(note: str) -> str:
        """The second call.

        Args:
            note: Anything.
        """
        order.append("second ran")
        return "ok"

    slow = Reply.tool_calls(("first", {}), ("second", {"note": "x" * 60}), chunk_delay=0.05)
    events: list[Event] = []

    def record(event: Event) -> None:
        if isinstance(event, ToolCallStarted | ToolCallFinished):
            state = "started" if isinstance(event, ToolCallStarted) else "finished"
            order.append(f"{event.name} {state}")
        events.append(event)

    async with ScriptedModel([slow, Reply.text("done")]) as model:
        async with Agent(model, tools=[first, second]) as agent:
            await agent.ask(text="go", on_event=record)
    assert model.errors == []
    # `first` ran while `second`'s arguments were still streaming in (dispatched at the end,
    # both would start before either function ran in its thread).
    assert order[:2] == ["first started", "first ran"]
    assert order.index("first ran") < order.index("second started")
    # Results are reported once the round is recorded in the conversation, in call order.
    assert order[-2:] == ["first finished", "second finished"]


async def test_a_server_error_raises_a_typed_error_and_the_next_turn_works(wav: Path) -> None:
    async with ScriptedModel(
        [Reply.error(400, "At most 5 audio(s) may be provided in one prompt."), Reply.text("Hi.")]
    ) as model:
        async with Agent(
            model,
        ) as agent:
            with pytest.raises(BadRequestError) as caught:
                await agent.ask(audio=wav)
            assert "At most 5 audio" in str(caught.value)
            turn = await agent.ask(text="hello?")
    assert turn.text == "Hi."
    roles = [m["role"] for m in model.requests[1]["messages"]]
    assert roles == ["user", "user"]  # the failed turn's audio is still in the history
    assert model.errors == []


async def test_cancelling_a_turn_mid_tool_leaves_the_conversation_valid() -> None:
    started = anyio.Event()

    @tool
    async def slow_tool() -> str:
        """Take forever."""
        started.set()
        await anyio.sleep_forever()
        return "never"

    async with ScriptedModel(
        [Reply.tool_calls(("slow_tool", {}), ("slow_tool", {})), Reply.text("Next answer.")]
    ) as model:
        async with Agent(model, tools=[slow_tool]) as agent:
            async with anyio.create_task_group() as tg:
                tg.start_soon(agent.ask, None, "start the slow thing")
                await started.wait()
                tg.cancel_scope.cancel()
            assert agent.conversation.pending_tool_calls() == []
            turn = await agent.ask(text="never mind")
    assert model.errors == []
    assert turn.text == "Next answer."
    results = tool_messages(model.requests[1])
    assert len(results) == 2 and all("Cancelled" in m["content"] for m in results)


async def test_empty_answer_is_reported_as_an_event() -> None:
    events: list[Event] = []
    async with ScriptedModel([Reply.text("")]) as model:
        async with Agent(
            model,
        ) as agent:
            turn = await agent.ask(text="hello", on_event=events.append)
    assert turn.text == ""
    assert any(isinstance(e, ErrorEvent) and e.error_type == "EmptyAnswer" for e in events)


async def test_agent_tool_decorator_registers_on_the_agent() -> None:
    agent: Agent[None] = Agent(base_url="http://127.0.0.1:9/v1")

    @agent.tool
    def ping() -> str:
        """Answer pong."""
        return "pong"

    @agent.tool(confirm=True, name="pong_loudly")
    def pong() -> str:
        """Answer PONG."""
        return "PONG"

    assert agent.registry.names == ["ping", "pong_loudly"]
    assert agent.registry.get("pong_loudly") is not None
    assert agent.registry.get("pong_loudly").confirm  # type: ignore[union-attr]


async def test_ask_needs_input_and_a_started_agent() -> None:
    agent: Agent[None] = Agent(base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ConfigurationError, match="needs audio or text"):
        await agent.ask()
    with pytest.raises(ConfigurationError, match="not started"):
        await agent.ask(text="hi")


async def test_unreachable_server_gives_one_clear_error() -> None:
    async with ScriptedServer() as server:
        url = server.base_url
    agent: Agent[None] = Agent(base_url=url)
    with pytest.raises(ServerUnavailableError) as caught:
        await agent.__aenter__()
    assert caught.value.hint


async def test_no_server_and_no_vllm_lists_the_ways_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOXAGENT_BASE_URL", raising=False)
    monkeypatch.setattr("voxagent.serve.server.find_vllm", lambda: None)
    agent: Agent[None] = Agent(model="mistralai/Voxtral-Mini-3B-2507")
    with pytest.raises(ConfigurationError) as caught:
        async with agent:
            pass
    hint = caught.value.hint or ""
    assert (
        "voxagent-voxtral[serve]" in hint
        and "VOXAGENT_BASE_URL" in hint
        and "MISTRAL_API_KEY" in hint
    )


async def test_conversation_saved_mid_session_loads_and_continues(tmp_path: Path) -> None:
    from voxagent.conversation import Conversation

    path = tmp_path / "chat.json"
    async with ScriptedModel([Reply.text("one"), Reply.text("two")]) as model:
        async with Agent(
            model,
        ) as agent:
            await agent.ask(text="first")
            agent.conversation.save(path)
        restored = Conversation.load(path)
        async with Agent(model, conversation=restored) as again:
            turn = await again.ask(text="second")
    assert turn.text == "two"
    assert [m["content"] for m in model.requests[1]["messages"]][:2] == ["first", "one"]
    assert json.loads(path.read_text())  # a real JSON file


async def test_a_slow_tool_fills_the_silence_once_per_round() -> None:
    from voxagent.events import ToolStillRunning

    said: list[str] = []

    async def speaker(text: str) -> None:
        said.append(text)

    @tool
    async def slow(n: int) -> str:
        """Take a while.

        Args:
            n: Which call.
        """
        await anyio.sleep(0.4)
        return f"done {n}"

    events: list[Event] = []
    async with ScriptedModel(
        [Reply.tool_calls(("slow", {"n": 1}), ("slow", {"n": 2})), Reply.text("Both done.")]
    ) as model:
        async with Agent(
            model,
            tools=[slow],
            voice=VoiceSettings(speaker=speaker, slow_tool_after=0.1),
        ) as agent:
            await agent.ask(text="go", on_event=events.append)
    notices = [e for e in events if isinstance(e, ToolStillRunning)]
    assert len(notices) == 1 and notices[0].name == "slow"
    assert said == ["One moment, I'm still working on it.", "Both done."]
    kinds = [type(e) for e in events]
    assert kinds.index(ToolStillRunning) < kinds.index(ToolCallFinished)


async def test_fast_tools_say_nothing_extra() -> None:
    from voxagent.events import ToolStillRunning

    events: list[Event] = []
    async with ScriptedModel(
        [Reply.tool_call("set_light", {"room": "kitchen", "on": True}), Reply.text("ok")]
    ) as model:
        async with Agent(model, tools=[set_light], deps=Home()) as agent:
            await agent.ask(text="go", on_event=events.append)
    assert not [e for e in events if isinstance(e, ToolStillRunning)]


async def test_a_tool_call_cut_at_max_tokens_is_reported_but_cut_text_is_not() -> None:
    events: list[Event] = []
    async with ScriptedModel(
        [
            Reply.tool_call("set_light", '{"room": "kitch', finish_reason="length"),
            Reply.text("and then the text ran o", finish_reason="length"),
        ]
    ) as model:
        async with Agent(model, tools=[set_light], deps=Home()) as agent:
            turn = await agent.ask(text="go", on_event=events.append)
    truncated = [
        e for e in events if isinstance(e, ErrorEvent) and e.error_type == "AnswerTruncated"
    ]
    assert len(truncated) == 1 and "max_tokens" in (truncated[0].hint or "")
    assert turn.tool_calls[0].result.error_kind == "truncated"
    assert model.errors == []
