"""Property tests: whatever the model sends, `invoke` answers with a ToolResult and never raises."""

from __future__ import annotations

import datetime
import json
from typing import Annotated, Any, Literal

import anyio
from hypothesis import HealthCheck, example, given, settings, strategies as st
from pydantic import BaseModel, Field

from voxagent.text import clean_text
from voxagent.tools import ToolRegistry, ToolResult, tool, truncate


class Item(BaseModel):
    name: str
    qty: Annotated[int, Field(ge=0)] = 1


@tool(max_result_chars=300)
def order(
    items: list[Item],
    when: datetime.date | None = None,
    mode: Literal["fast", "cheap"] = "fast",
    note: str = "",
) -> dict[str, Any]:
    """Place an order."""
    return {"n": len(items), "mode": mode, "note": note}


@tool
async def echo(value: Any = None) -> Any:
    """Echo any JSON back."""
    return value


REGISTRY = ToolRegistry([order, echo], max_result_chars=500)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
argument_dicts = st.dictionaries(
    st.sampled_from(["items", "when", "mode", "note", "value", "extra"]) | st.text(max_size=6),
    json_values,
    max_size=5,
)
raw_text = st.text(max_size=80) | json_values.map(json.dumps)
names = st.sampled_from(["order", "echo", "nope"])
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(name: str, arguments: Any) -> ToolResult:
    async def main() -> ToolResult:
        return await REGISTRY.invoke(name, arguments)

    return anyio.run(main)


def check(result: ToolResult) -> None:
    assert isinstance(result, ToolResult)
    assert isinstance(result.content, str) and len(result.content) <= 500
    assert result.is_error == (result.error_kind is not None)


@FAST
@given(names, raw_text)
def test_any_text_never_raises(name: str, arguments: str) -> None:
    check(run(name, arguments))


@FAST
@given(names, argument_dicts)
def test_any_dict_never_raises(name: str, arguments: dict[str, Any]) -> None:
    result = run(name, arguments)
    check(result)
    if name == "order" and result.is_error:
        assert result.error_kind == "invalid_arguments"


finite_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@FAST
@given(finite_json)
@example("a\x00b")  # NUL is removed on the way to the model
def test_echo_round_trips_any_json(value: Any) -> None:
    result = run("echo", {"value": value})
    check(result)
    assert not result.is_error
    if isinstance(value, str):
        # A str goes to the model as is, through clean_text (a NUL would break requests).
        assert result.content == clean_text(value)[:500]
    elif "... [truncated " not in result.content:  # a capped text is no longer JSON
        assert json.loads(result.content) == value
    else:
        assert len(result.content) <= 500


@given(st.text(max_size=300), st.integers(min_value=40, max_value=400))
def test_truncate_respects_the_limit(text: str, limit: int) -> None:
    capped = truncate(text, limit)
    assert len(capped) <= limit
    if len(text) <= limit:
        assert capped == text
    else:
        kept, marker = capped.rsplit("\n", 1)
        assert text.startswith(kept)
        assert marker == f"... [truncated {len(text) - len(kept)} characters]"
