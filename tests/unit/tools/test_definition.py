"""Decorating functions: docstring styles, options, and the signatures that are refused."""

from __future__ import annotations

import functools
import inspect
from typing import Annotated, Any

import pytest
from pydantic import Field

from voxagent.errors import ToolDefinitionError
from voxagent.tools import RunContext, Tool, tool
from voxagent.tools.docstrings import parse_docstring


def google(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Uses the national weather service; answers in Celsius.

    Args:
        city: The city's name,
            in English.
        days: How many days ahead.

    Returns:
        The forecast.
    """
    return city


def numpy_style(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Uses the national weather service; answers in Celsius.

    Parameters
    ----------
    city : str
        The city's name,
        in English.
    days : int
        How many days ahead.

    Returns
    -------
    str
        The forecast.
    """
    return city


def sphinx(city: str, days: int = 1) -> str:
    """Get the weather forecast.

    Uses the national weather service; answers in Celsius.

    :param city: The city's name,
        in English.
    :param int days: How many days ahead.
    :returns: The forecast.
    """
    return city


@pytest.mark.parametrize("fn", [google, numpy_style, sphinx], ids=["google", "numpy", "sphinx"])
def test_docstring_styles(fn: Any) -> None:
    made = tool(fn)
    assert made.description == (
        "Get the weather forecast.\n\nUses the national weather service; answers in Celsius."
    )
    props = made.parameters["properties"]
    assert props["city"]["description"] == "The city's name, in English."
    assert props["days"]["description"] == "How many days ahead."


def test_numpy_shared_parameter_line() -> None:
    parsed = parse_docstring(
        """Move.

        Parameters
        ----------
        x, y : float
            Target coordinates.
        """
    )
    assert parsed.params == {"x": "Target coordinates.", "y": "Target coordinates."}


def test_summary_only_and_missing_docstrings() -> None:
    def plain(a: int) -> None:
        """Just a summary."""

    def bare(a: int) -> None:
        pass

    assert tool(plain).description == "Just a summary."
    assert "description" not in tool(plain).parameters["properties"]["a"]
    assert tool(bare).description == ""


def test_annotated_description_wins_over_docstring() -> None:
    def fn(a: Annotated[int, Field(description="From Field.")], b: int) -> None:
        """Do it.

        Args:
            a: From the docstring.
            b: Documented b.
        """

    props = tool(fn).parameters["properties"]
    assert props["a"]["description"] == "From Field."
    assert props["b"]["description"] == "Documented b."


def test_decorator_options_and_bare_form() -> None:
    @tool
    def bare(a: int) -> int:
        return a

    @tool(name="renamed", description="Custom.", confirm=True, timeout=2.5, max_result_chars=99)
    async def full(a: int) -> int:
        """Original."""
        return a

    assert isinstance(bare, Tool) and bare.name == "bare"
    assert bare.confirm is False and bare.timeout is None and bare.max_result_chars is None
    assert (full.name, full.description, full.confirm) == ("renamed", "Custom.", True)
    assert (full.timeout, full.max_result_chars) == (2.5, 99)


def test_tool_object_still_calls_like_the_function() -> None:
    @tool
    def add(a: int, b: int = 2) -> int:
        return a + b

    assert add(1) == 3
    assert add(1, b=5) == 6
    assert list(inspect.signature(add).parameters) == ["a", "b"]


def test_rewrapping_a_tool_keeps_options_unless_overridden() -> None:
    @tool(confirm=True, timeout=3)
    def original(a: int) -> int:
        """Original."""
        return a

    copy = tool(name="copy")(original)
    assert copy is not original
    assert (copy.name, copy.description, copy.confirm, copy.timeout) == (
        "copy",
        "Original.",
        True,
        3,
    )


def test_callable_objects_and_partials() -> None:
    class Adder:
        def __call__(self, a: int) -> int:
            return a + 1

    def scaled(factor: int, a: int) -> int:
        """Scale a number.

        Args:
            a: The number.
        """
        return factor * a

    obj_tool = tool(name="adder")(Adder())
    partial_tool = tool(name="double")(functools.partial(scaled, 2))
    assert list(obj_tool.parameters["properties"]) == ["a"]
    assert partial_tool.parameters["properties"] == {
        "a": {"type": "integer", "description": "The number."}
    }
    assert partial_tool.description == "Scale a number."
    assert obj_tool.description == ""


def _no_annotation(a):  # type: ignore[no-untyped-def]  # the refused case itself
    return a


def _var_args(*items: int) -> None: ...


def _var_kwargs(**options: int) -> None: ...


def _positional_only(a: int, /) -> None: ...


def _ctx_not_first(a: int, ctx: RunContext[None]) -> None: ...


def _generator(a: int) -> Any:
    yield a


class _Opaque:
    pass


def _arbitrary_type(a: _Opaque) -> None: ...


@pytest.mark.parametrize(
    ("fn", "why"),
    [
        (_no_annotation, "no type annotation"),
        (_var_args, "*items"),
        (_var_kwargs, "**options"),
        (_positional_only, "positional-only"),
        (_ctx_not_first, "not the first parameter"),
        (_generator, "generator"),
        (_arbitrary_type, "pydantic cannot validate"),
    ],
)
def test_refused_signatures(fn: Any, why: str) -> None:
    with pytest.raises(ToolDefinitionError) as info:
        tool(fn)
    assert why in info.value.message
    assert info.value.hint


def test_unresolvable_annotation() -> None:
    def fn(a: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821 - on purpose
        ...

    with pytest.raises(ToolDefinitionError, match="cannot be resolved"):
        tool(fn)


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "dot.name", "naïve", "<lambda>"])
def test_invalid_names(name: str) -> None:
    def fn() -> None: ...

    with pytest.raises(ToolDefinitionError, match="invalid tool name"):
        tool(name=name)(fn)


def test_lambda_needs_a_name() -> None:
    with pytest.raises(ToolDefinitionError) as info:
        tool(lambda: None)
    assert "name=" in str(info.value.hint)
    assert tool(name="ok-name_1")(lambda: None).name == "ok-name_1"


@pytest.mark.parametrize(
    "options",
    [{"timeout": 0}, {"timeout": -1.0}, {"timeout": float("inf")}, {"max_result_chars": 0}],
)
def test_invalid_options(options: dict[str, Any]) -> None:
    def fn() -> None: ...

    with pytest.raises(ToolDefinitionError):
        tool(**options)(fn)


def test_not_callable() -> None:
    with pytest.raises(ToolDefinitionError, match="not callable"):
        Tool.from_function(42, name="x")  # type: ignore[arg-type]  # the refused case itself
