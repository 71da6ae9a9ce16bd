"""The tool registry: registration checks, lookup, and invocation by name."""

from __future__ import annotations

from typing import Any

import pytest

from voxagent.errors import ToolDefinitionError
from voxagent.tools import RunContext, Tool, ToolRegistry, tool


@tool
def lights(room: str) -> str:
    """Switch the lights."""
    return f"lights in {room}"


def plain(n: int) -> int:
    """Double a number."""
    return n * 2


@tool(max_result_chars=40)
def chatty() -> str:
    return "c" * 500


def test_registration_wraps_plain_functions_and_keeps_order() -> None:
    registry = ToolRegistry([lights, plain])
    doubled = registry.get("plain")
    assert isinstance(doubled, Tool) and doubled.function is plain
    assert registry.get("lights") is lights
    assert registry.get("missing") is None
    assert registry.names == ["lights", "plain"]
    assert [t.name for t in registry] == ["lights", "plain"]
    assert len(registry) == 2
    assert "lights" in registry and lights in registry and "plain" in registry
    assert "missing" not in registry and tool(name="lights")(plain) not in registry
    assert registry.to_openai() == [lights.to_openai(), doubled.to_openai()]


def test_add_returns_the_registered_tool_and_remove_drops_it() -> None:
    registry = ToolRegistry()
    added = registry.add(plain)
    assert registry.get("plain") is added
    assert registry.remove("plain") is added
    assert len(registry) == 0 and registry.to_openai() == []
    with pytest.raises(KeyError):
        registry.remove("plain")


def test_duplicate_names_are_refused() -> None:
    registry = ToolRegistry([lights])
    other = tool(name="lights")(plain)
    with pytest.raises(ToolDefinitionError) as info:
        registry.add(other)
    assert "duplicate tool name 'lights'" in info.value.message
    assert "@tool(name=" in str(info.value.hint)
    assert registry.get("lights") is lights


def test_names_the_model_cannot_call_are_refused_even_if_set_after_decoration() -> None:
    import dataclasses

    broken = dataclasses.replace(lights, name="has space")
    with pytest.raises(ToolDefinitionError, match="invalid tool name"):
        ToolRegistry([broken])


def test_invalid_global_cap() -> None:
    with pytest.raises(ToolDefinitionError):
        ToolRegistry(max_result_chars=0)


@pytest.mark.anyio
async def test_invoke_by_name() -> None:
    registry = ToolRegistry([lights, plain])
    result = await registry.invoke("plain", '{"n": 21}', RunContext(deps=None))
    assert (result.content, result.value, result.is_error) == ("42", 42, False)
    bad = await registry.invoke("plain", '{"n": "x"}', None)
    assert bad.error_kind == "invalid_arguments" and bad.content.startswith(
        "Invalid arguments for plain: n: must be a valid integer"
    )


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["lamps", "", None, 3])
async def test_unknown_tool_lists_the_available_ones(name: Any) -> None:
    registry = ToolRegistry([lights, plain])
    result = await registry.invoke(name, "{}", None)
    assert result.is_error and result.error_kind == "unknown_tool"
    assert result.content == f"Unknown tool {name!r}. Available tools: lights, plain."


@pytest.mark.anyio
async def test_unknown_tool_in_an_empty_registry() -> None:
    result = await ToolRegistry().invoke("x", "{}")
    assert result.content == "Unknown tool 'x'. Available tools: none."


@pytest.mark.anyio
async def test_global_cap_and_tool_cap() -> None:
    big = tool(name="big")(lambda: "b" * 500)
    registry = ToolRegistry([big, chatty], max_result_chars=100)
    capped = await registry.invoke("big", "{}")
    assert len(capped.content) <= 100 and capped.content.endswith("characters]")
    assert len((await registry.invoke("chatty", "{}")).content) <= 40  # the tool's smaller cap
    via_call = await registry.call(big, {}, None)
    assert via_call.content == capped.content


def test_cap_helper_for_text_made_elsewhere() -> None:
    registry = ToolRegistry([chatty], max_result_chars=100)
    assert registry.cap("short") == "short"
    assert len(registry.cap("x" * 1000)) <= 100
    assert len(registry.cap("x" * 1000, chatty)) <= 40
