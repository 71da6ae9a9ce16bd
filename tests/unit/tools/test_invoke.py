"""Invoking tools: argument handling, results, errors, threads, timeouts and cancellation."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import threading
from typing import Annotated, Any, Literal

import anyio
import pytest
from pydantic import BaseModel, Field, field_validator

from voxagent.errors import ToolError
from voxagent.tools import RunContext, ToolArgumentsError, ToolResult, tool

pytestmark = pytest.mark.anyio


class Room(enum.Enum):
    KITCHEN = "kitchen"
    BEDROOM = "bedroom"


class LightState(BaseModel):
    room: str
    on: bool


@dataclasses.dataclass
class Window:
    width: int
    height: int


class Strict(BaseModel):
    code: str

    @field_validator("code")
    @classmethod
    def broken(cls, value: str) -> str:
        raise KeyError(value)  # a validator bug pydantic does not convert


@tool
async def set_light(
    room: Literal["kitchen", "bedroom"],
    on: bool,
    brightness: Annotated[int, Field(ge=0, le=100)] = 100,
) -> LightState:
    """Switch a light on or off."""
    return LightState(room=room, on=on)


@tool
def typed(
    state: LightState,
    window: Window,
    room: Room,
    when: datetime.date,
    tags: list[str] = [],  # noqa: B006 - pydantic copies defaults on every validation
) -> dict[str, Any]:
    return {"state": state, "window": window, "room": room, "when": when, "tags": tags}


@tool
def no_args() -> str:
    return "done"


# ------------------------------------------------------------------------------ arguments


@pytest.mark.parametrize("arguments", ["", "   ", "{}", "null", " {} ", None, {}])
async def test_no_argument_forms_are_accepted(arguments: Any) -> None:
    result = await no_args.invoke(arguments)
    assert result == ToolResult(content="done", value="done", duration_s=result.duration_s)


async def test_valid_call_gets_typed_values() -> None:
    result = await typed.invoke(
        '{"state": {"room": "k", "on": true}, "window": {"width": 2, "height": "3"},'
        ' "room": "bedroom", "when": "2025-01-31"}'
    )
    assert not result.is_error, result.content
    assert result.value == {
        "state": LightState(room="k", on=True),
        "window": Window(2, 3),
        "room": Room.BEDROOM,
        "when": datetime.date(2025, 1, 31),
        "tags": [],
    }
    assert result.content == (
        '{"state":{"room":"k","on":true},"window":{"width":2,"height":3},'
        '"room":"bedroom","when":"2025-01-31","tags":[]}'
    )


async def test_dict_arguments_and_double_encoded_json() -> None:
    as_dict = await set_light.invoke({"room": "kitchen", "on": True})
    double = await set_light.invoke('"{\\"room\\": \\"kitchen\\", \\"on\\": true}"')
    assert as_dict.value == double.value == LightState(room="kitchen", on=True)


async def test_the_model_facing_message_names_every_problem() -> None:
    result = await set_light.invoke('{"room": "garage", "brightness": 150, "colour": "red"}')
    assert result.is_error and result.error_kind == "invalid_arguments"
    assert result.content == (
        "Invalid arguments for set_light: room: must be one of 'kitchen', 'bedroom' (got 'garage');"
        " on: required but missing; brightness: must be <= 100 (got 150);"
        " unexpected argument 'colour' (accepted: room, on, brightness)"
    )


async def test_nested_paths_and_type_errors() -> None:
    result = await typed.invoke(
        {
            "state": {"room": "k", "on": "maybe"},
            "window": {"width": 1},
            "room": "hall",
            "when": "yesterday",
            "tags": ["a", 3],
        }
    )
    text = result.content
    assert result.error_kind == "invalid_arguments"
    assert "state.on: must be a valid boolean" in text and "(got 'maybe')" in text
    assert "window.height: required but missing" in text
    assert "room: must be one of 'kitchen', 'bedroom' (got 'hall')" in text
    assert "when: must be a valid date" in text
    assert "tags[1]: must be a valid string (got 3)" in text


async def test_unexpected_arguments_for_a_tool_without_parameters() -> None:
    result = await no_args.invoke('{"x": 1, "y": 2}')
    assert result.content == (
        "Invalid arguments for no_args: unexpected arguments 'x', 'y' (accepted: none; send {})"
    )


async def test_many_problems_are_summarised() -> None:
    @tool
    def wide(
        a: int, b: int, c: int, d: int, e: int, f: int, g: int, h: int, i: int, j: int
    ) -> None:
        pass

    result = await wide.invoke("{}")
    assert result.content.endswith("; and 2 more problems")
    assert result.content.count("required but missing") == 8


@pytest.mark.parametrize(
    ("arguments", "kind", "fragment"),
    [
        ('{"room": "kitchen", "on": ', "invalid_json", "not valid JSON (Expecting value"),
        ("{'room': 'kitchen'}", "invalid_json", "not valid JSON"),
        ("[1, 2]", "invalid_arguments", "expected a JSON object of named arguments, got list"),
        ("42", "invalid_arguments", "got int 42"),
        ('"just text"', "invalid_arguments", "got str 'just text'"),
        ("[" * 100_000, "invalid_json", "not valid JSON"),
    ],
)
async def test_bad_json(arguments: str, kind: str, fragment: str) -> None:
    result = await set_light.invoke(arguments)
    assert result.is_error and result.error_kind == kind
    assert result.content.startswith("Invalid arguments for set_light: ")
    assert fragment in result.content


def test_validate_raises_a_tool_error_with_details() -> None:
    with pytest.raises(ToolArgumentsError) as info:
        set_light.validate('{"room": "garage", "on": true}')
    error = info.value
    assert isinstance(error, ToolError)
    assert (error.kind, error.tool_name) == ("invalid_arguments", "set_light")
    assert error.problems == ("room: must be one of 'kitchen', 'bedroom' (got 'garage')",)
    assert set_light.validate('{"room": "kitchen", "on": 1}') == {
        "room": "kitchen",
        "on": True,
        "brightness": 100,
    }


async def test_a_validator_bug_is_an_argument_error_not_a_crash() -> None:
    @tool
    def check(item: Strict) -> None:
        pass

    result = await check.invoke({"item": {"code": "x"}})
    assert result.error_kind == "invalid_arguments"
    assert "KeyError: 'x'" in result.content


# ---------------------------------------------------------------------------- return values


class Mood(enum.Enum):
    HAPPY = "happy"


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("plain text, not JSON", "plain text, not JSON"),
        (LightState(room="k", on=False), '{"room":"k","on":false}'),
        (Window(1, 2), '{"width":1,"height":2}'),
        ({"a": [1, 2.5, None], "é": True}, '{"a":[1,2.5,null],"é":true}'),
        ([1, "two"], '[1,"two"]'),
        (3, "3"),
        (2.5, "2.5"),
        (None, "null"),
        (Mood.HAPPY, '"happy"'),
        (datetime.datetime(2025, 1, 2, 3, 4, 5), '"2025-01-02T03:04:05"'),
    ],
)
async def test_return_values_become_compact_text(value: Any, content: str) -> None:
    @tool
    def give() -> Any:
        return value

    result = await give.invoke("{}")
    assert result == ToolResult(content=content, value=value, duration_s=result.duration_s)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (b"\x00\x01", "returned bytes"),
        (object(), "cannot be serialised to JSON"),
        ({"nested": object()}, "cannot be serialised to JSON"),
    ],
)
async def test_unserialisable_return_values(value: Any, fragment: str) -> None:
    @tool
    def give() -> Any:
        return value

    result = await give.invoke("{}")
    assert result.is_error and result.error_kind == "unserialisable"
    assert result.content.startswith("Tool give failed: the tool returned")
    assert fragment in result.content


# -------------------------------------------------------------------------------- failures


async def test_tool_error_message_goes_to_the_model() -> None:
    @tool
    async def fail() -> None:
        raise ToolError("No light in the garage; rooms are kitchen and bedroom.")

    result = await fail.invoke("{}")
    assert result.is_error and result.error_kind == "tool_error"
    assert result.content == "No light in the garage; rooms are kitchen and bedroom."


async def test_empty_tool_error_still_says_something() -> None:
    @tool
    def fail() -> None:
        raise ToolError

    assert (await fail.invoke("")).content == "Tool fail failed."


@pytest.mark.parametrize("is_async", [False, True])
async def test_exceptions_become_type_and_message_and_are_logged(
    is_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> None:
        raise ValueError("sensor offline")

    async def aboom() -> None:
        boom()

    made = tool(name="boom")(aboom if is_async else boom)
    logger = logging.getLogger("test.tools.ctx")
    with caplog.at_level(logging.ERROR, logger="test.tools.ctx"):
        result = await made.invoke("{}", RunContext(deps=None, logger=logger))
    assert result.is_error and result.error_kind == "raised"
    assert result.content == "ValueError: sensor offline"
    assert "Traceback" not in result.content
    [record] = [r for r in caplog.records if r.name == "test.tools.ctx"]
    assert record.exc_info is not None and record.exc_info[0] is ValueError


async def test_a_timeout_error_raised_by_the_tool_is_not_our_timeout() -> None:
    @tool(timeout=30)
    async def dial() -> None:
        raise TimeoutError("socket timed out")

    result = await dial.invoke("{}")
    assert (result.error_kind, result.content) == ("raised", "TimeoutError: socket timed out")


# ------------------------------------------------------------------- threads and contexts


async def test_sync_tools_run_in_a_worker_thread_and_async_ones_in_the_loop() -> None:
    loop_thread = threading.get_ident()

    @tool
    def sync_tool() -> int:
        return threading.get_ident()

    @tool
    async def async_tool() -> int:
        return threading.get_ident()

    assert (await sync_tool.invoke("{}")).value != loop_thread
    assert (await async_tool.invoke("{}")).value == loop_thread


async def test_context_is_injected_positionally_or_by_keyword() -> None:
    @tool
    def positional(ctx: RunContext[str], n: int) -> str:
        return f"{ctx.deps}:{n}"

    @tool
    async def keyword(*, ctx: RunContext[str], n: int) -> str:
        return f"{ctx.deps}:{n}"

    ctx = RunContext(deps="home")
    assert (await positional.invoke('{"n": 1}', ctx)).value == "home:1"
    assert (await keyword.invoke('{"n": 2}', ctx)).value == "home:2"
    # Without a context the tool still gets one, with deps=None.
    assert (await positional.invoke('{"n": 3}')).value == "None:3"


async def test_context_fields() -> None:
    seen: list[RunContext[Any]] = []

    @tool
    def look(ctx: RunContext[dict[str, int]]) -> None:
        seen.append(ctx)

    ctx = RunContext(deps={"a": 1}, conversation="conv", audio="clip")
    await look.invoke("{}", ctx)
    assert seen == [ctx]
    assert seen[0].logger.name == "voxagent.tools"
    assert [f.name for f in dataclasses.fields(RunContext)] == [
        "deps",
        "conversation",
        "audio",
        "logger",
    ]


async def test_sync_wrapper_returning_a_coroutine_is_awaited() -> None:
    async def inner(a: int) -> int:
        return a * 2

    def wrapper(a: int) -> Any:
        return inner(a)

    assert (await tool(name="wrapper")(wrapper).invoke({"a": 4})).value == 8


async def test_call_runs_already_validated_values() -> None:
    values = set_light.validate({"room": "bedroom", "on": False})
    result = await set_light.call(values, None)
    assert result.value == LightState(room="bedroom", on=False)


# ---------------------------------------------------------------- timeouts and cancellation


async def test_async_tool_past_its_timeout_is_cancelled_and_reported() -> None:
    finished = False

    @tool(timeout=0.05)
    async def slow() -> None:
        nonlocal finished
        await anyio.sleep(30)
        finished = True

    result = await slow.invoke("{}")
    assert result.is_error and result.error_kind == "timeout"
    assert result.content == "Tool slow timed out after 0.05 s."
    assert not finished


async def test_sync_tool_past_its_timeout_is_reported_without_waiting_for_it() -> None:
    release = threading.Event()

    @tool(timeout=0.05)
    def stuck() -> str:
        release.wait(30)
        return "late"

    try:
        result = await stuck.invoke("{}")
    finally:
        release.set()  # let the abandoned thread end
    assert result.error_kind == "timeout"
    assert result.content.startswith("Tool stuck timed out after 0.05 s: stopped waiting")
    assert result.content.endswith("may still complete.")


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_outer_cancellation_propagates(kind: str) -> None:
    release = threading.Event()

    async def async_slow() -> None:
        await anyio.sleep(30)

    def sync_slow() -> None:
        release.wait(30)

    made = tool(name="slow", timeout=60)(async_slow if kind == "async" else sync_slow)
    returned: list[ToolResult] = []
    try:
        with anyio.move_on_after(0.05) as scope:
            returned.append(await made.invoke("{}"))
    finally:
        release.set()
    assert scope.cancelled_caught, "the cancellation was swallowed"
    assert returned == []


async def test_cancellation_inside_a_task_group_propagates() -> None:
    started = anyio.Event()
    results: list[ToolResult] = []

    @tool
    async def wait_forever() -> None:
        started.set()
        await anyio.sleep_forever()

    async def run() -> None:
        results.append(await wait_forever.invoke("{}"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await started.wait()
        tg.cancel_scope.cancel()
    assert results == []


# ------------------------------------------------------------------------------- truncation


async def test_per_tool_cap_truncates_with_a_marker() -> None:
    @tool(max_result_chars=100)
    def big() -> str:
        return "x" * 1000

    result = await big.invoke("{}")
    assert len(result.content) <= 100
    kept = result.content.split("\n")[0]
    assert result.content == f"{kept}\n... [truncated {1000 - len(kept)} characters]"
    assert result.value == "x" * 1000  # the application still gets everything


async def test_outer_cap_and_default_cap() -> None:
    @tool(max_result_chars=500)
    def big() -> str:
        return "y" * 50_000

    assert len((await big.invoke("{}", max_result_chars=80)).content) <= 80
    assert len((await big.invoke("{}", max_result_chars=10_000)).content) <= 500
    unlimited = tool(name="unlimited")(lambda: "z" * 50_000)
    content = (await unlimited.invoke("{}")).content
    assert len(content) <= 16_000 and content.endswith("characters]")


async def test_error_messages_are_capped_too() -> None:
    @tool(max_result_chars=60)
    def loud() -> None:
        raise ValueError("e" * 1000)

    result = await loud.invoke("{}")
    assert len(result.content) <= 60 and "[truncated" in result.content


def test_failure_constructor() -> None:
    denied = ToolResult.failure("The user refused.", "denied")
    assert (denied.is_error, denied.error_kind, denied.value) == (True, "denied", None)
