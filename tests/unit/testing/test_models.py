"""The in-process fake models: the same requests as the wire, the same errors, no socket."""

from __future__ import annotations

import datetime
import enum
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from voxagent import Agent, ModelSettings, tool
from voxagent.client import ModelClient
from voxagent.client.types import StreamDone, TextDelta, ToolCallReady
from voxagent.errors import (
    BadRequestError,
    ConfigurationError,
    ContextLengthError,
    ModelNotFoundError,
    RateLimitError,
    ServerError,
)
from voxagent.interfaces import ChatModel, Transcriber
from voxagent.testing import (
    FunctionModel,
    Reply,
    ScriptedModel,
    ScriptedRequest,
    ScriptedServer,
    TestModel,
)
from voxagent.testing.schema_values import example_arguments

pytestmark = pytest.mark.anyio

MODEL = "voxtral-test"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "audio"


@pytest.fixture
def wav() -> Path:
    return EXAMPLES / "kitchen_light_on.wav"


@tool
def set_light(room: str, on: bool) -> str:
    """Switch a light.

    Args:
        room: The room.
        on: On or off.
    """
    return f"{room} {'on' if on else 'off'}"


def test_the_fakes_are_chat_models() -> None:
    for fake in (FunctionModel(lambda r: "hi"), ScriptedModel(), TestModel()):
        assert isinstance(fake, ChatModel)
        assert isinstance(fake, Transcriber)


async def test_an_agent_turn_sends_what_it_sends_over_http(wav: Path) -> None:
    """The same turn against the scripted server and against the fake: byte-identical bodies."""
    script = [
        Reply.tool_call("set_light", {"room": "kitchen", "on": True}),
        Reply.text("The kitchen light is on."),
    ]
    settings = ModelSettings(seed=3, max_tokens=64)
    async with ScriptedServer(script, model=MODEL) as server:
        async with Agent(
            model=MODEL, base_url=server.base_url, tools=[set_light], settings=settings
        ) as agent:
            over_http = await agent.ask(audio=wav, text="Kitchen on")
    fake = ScriptedModel(script, model=MODEL)
    async with Agent(fake, tools=[set_light], settings=settings) as agent:
        in_process = await agent.ask(audio=wav, text="Kitchen on")
    assert server.errors == [] and fake.errors == []
    assert fake.requests == server.requests
    assert in_process.text == over_http.text == "The kitchen light is on."
    assert [c.result.content for c in in_process.tool_calls] == ["kitchen on"]
    assert in_process.usage.prompt_tokens == over_http.usage.prompt_tokens > 0


async def test_a_function_model_sees_each_request_and_can_answer_by_it() -> None:
    seen: list[ScriptedRequest] = []

    def answer(request: ScriptedRequest) -> Reply | str:
        seen.append(request)
        if request["messages"][-1]["role"] == "tool":
            return "Done: " + request["messages"][-1]["content"]
        return Reply.tool_call("set_light", {"room": "hall", "on": False})

    model = FunctionModel(answer)
    async with Agent(model, tools=[set_light]) as agent:
        turn = await agent.ask(text="Hall off")
    assert turn.text == "Done: hall off"
    assert [r.kind for r in seen] == ["chat", "chat"]
    assert seen[0]["tools"][0]["function"]["name"] == "set_light"
    assert model.errors == []


async def test_streamed_answers_come_in_fragments_through_the_clients_assembler() -> None:
    model = ScriptedModel(
        [Reply.tool_call("set_light", {"room": "kitchen", "on": True}, content="Sure.")]
    )
    items = [
        item
        async for item in model.stream_chat(
            [{"role": "user", "content": "kitchen"}], tools=[set_light.to_openai()]
        )
    ]
    assert [i.text for i in items if isinstance(i, TextDelta)] == ["Sure."]
    ready = [i for i in items if isinstance(i, ToolCallReady)]
    assert len(ready) == 1 and ready[0].call.name == "set_light"
    assert len(ready[0].call.id) == 9 and ready[0].call.id.isalnum()
    assert isinstance(items[-1], StreamDone)
    assert items[-1].response.usage is not None and items[-1].response.usage.prompt_tokens > 0


async def test_an_invalid_request_fails_as_it_fails_against_the_server(wav: Path) -> None:
    """Six clips in one request: vLLM refuses it, and so do both fakes, with the same error."""
    from voxagent.audio.ingest import read_clip
    from voxagent.client.dialects import VLLM

    clip = await read_clip(wav, None)
    messages = [{"role": "user", "content": [VLLM.audio_part(clip) for _ in range(6)]}]
    async with ScriptedServer([Reply.text("no")], model=MODEL) as server:
        async with ModelClient(server.base_url, model=MODEL) as client:
            with pytest.raises(ContextLengthError) as wire:
                await client.chat(messages)
    fake = ScriptedModel([Reply.text("no")], model=MODEL)
    with pytest.raises(ContextLengthError) as direct:
        await fake.chat(messages)
    assert direct.value.server_message == wire.value.server_message
    assert direct.value.hint == wire.value.hint
    assert [e.kind for e in fake.errors] == [e.kind for e in server.errors] == ["invalid"]
    assert fake.remaining == 1  # a refused request uses no reply


async def test_tool_call_ids_the_model_never_made_are_refused() -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "not-nine-characters",
                    "type": "function",
                    "function": {"name": "set_light", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "other", "content": "x"},
    ]
    with pytest.raises(BadRequestError):
        await FunctionModel(lambda r: "ok").chat(messages)


async def test_scripted_errors_are_the_clients_typed_errors() -> None:
    model = ScriptedModel([Reply.error(429, "slow down"), Reply.error(503)])
    with pytest.raises(RateLimitError, match="slow down"):
        await model.chat([{"role": "user", "content": "hi"}])
    with pytest.raises(ServerError):
        await model.chat([{"role": "user", "content": "hi"}])
    assert model.errors == []  # the script asked for both


async def test_a_function_that_raises_is_a_server_error_recorded_as_the_tests_bug() -> None:
    def broken(request: ScriptedRequest) -> str:
        raise KeyError("oops")

    model = FunctionModel(broken)
    with pytest.raises(ServerError, match="KeyError"):
        await model.chat([{"role": "user", "content": "hi"}])
    assert [e.kind for e in model.errors] == ["responder_error"]
    assert isinstance(model.errors[0].exception, KeyError)


async def test_a_script_that_runs_out_says_so() -> None:
    model = ScriptedModel([Reply.text("one")])
    await model.chat([{"role": "user", "content": "hi"}])
    with pytest.raises(ServerError):
        await model.chat([{"role": "user", "content": "again"}])
    assert [e.kind for e in model.errors] == ["unscripted"]


async def test_wire_faults_need_the_server() -> None:
    model = ScriptedModel([Reply.text("x", fault="drop")])
    with pytest.raises(ServerError, match="use ScriptedServer"):
        await model.chat([{"role": "user", "content": "hi"}])


async def test_a_bad_session_key_is_refused_before_anything_is_sent() -> None:
    model = FunctionModel(lambda r: "ok")
    with pytest.raises(ConfigurationError, match="session key"):
        await model.chat([{"role": "user", "content": "hi"}], session="a\r\nX-Evil: 1")
    assert model.requests == []


async def test_transcription_without_a_function_is_refused_like_a_server_without_the_model(
    wav: Path,
) -> None:
    from voxagent.audio.ingest import read_clip

    clip = await read_clip(wav, None)
    with pytest.raises(ModelNotFoundError):
        await FunctionModel(lambda r: "ok").transcribe(clip)
    assert await FunctionModel(lambda r: "ok", transcribe=lambda c: "hello").transcribe(clip) == (
        "hello"
    )


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Window(BaseModel):
    room: str = Field(min_length=3)
    open_pct: Annotated[int, Field(ge=10, le=90, multiple_of=5)]


@tool
def everything(
    colour: Colour,
    mode: Literal["eco", "boost"],
    level: Annotated[float, Field(gt=0.5)],
    windows: Annotated[list[Window], Field(min_length=2)],
    when: datetime.date,
    note: str | None = None,
) -> str:
    """Use every kind of parameter.

    Args:
        colour: A colour.
        mode: A mode.
        level: A level.
        windows: Windows to set.
        when: A day.
        note: Optional.
    """
    return f"{colour.value} {mode} {level} {len(windows)} {when.isoformat()}"


def test_generated_arguments_pass_the_tools_own_validation() -> None:
    for made in (set_light, everything):
        values = made.validate(example_arguments(made.to_openai()["function"]["parameters"]))
        assert values  # validate raises ToolArgumentsError when they do not fit


async def test_the_test_model_calls_every_tool_once_then_reports_the_results() -> None:
    model = TestModel()
    async with Agent(model, tools=[set_light, everything]) as agent:
        turn = await agent.ask(text="try everything")
    assert model.errors == []
    assert sorted(c.name for c in turn.tool_calls) == ["everything", "set_light"]
    assert all(not c.result.is_error for c in turn.tool_calls), turn.tool_calls
    assert "red eco" in turn.text and "a on" in turn.text


async def test_the_test_model_answers_in_text_without_tools() -> None:
    async with Agent(TestModel(text="nothing to call")) as agent:
        turn = await agent.ask(text="hello")
    assert turn.text == "nothing to call" and turn.tool_calls == ()
