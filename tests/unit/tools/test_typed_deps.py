"""The tools' deps type and the agent's deps meet: in mypy --strict, and at construction time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from voxagent import Agent, RunContext, tool
from voxagent.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[3]

COMMON = '''
from dataclasses import dataclass

from voxagent import Agent, RunContext, tool


@dataclass
class Home:
    lights: int = 0


@dataclass
class Garage:
    doors: int = 0


@tool
def set_light(ctx: RunContext[Home], on: bool) -> str:
    """Switch the light."""
    ctx.deps.lights += 1
    return "ok"


@tool(confirm=True)
def open_garage(ctx: RunContext[Garage]) -> str:
    """Open the garage."""
    return "open"


@tool
def plain(x: int) -> str:
    """No context."""
    return str(x)


def undecorated(x: int) -> str:
    """Wrapped by the agent."""
    return str(x)
'''

GOOD = (
    COMMON
    + """
home: Agent[Home] = Agent(tools=[set_light, plain, undecorated], deps=Home())
inferred = Agent(tools=[set_light], deps=Home())
reveal_type(inferred)
reveal_type(open_garage)
"""
)

BAD = (
    COMMON
    + """
wrong: Agent[Garage] = Agent(tools=[set_light, plain], deps=Garage())
"""
)


def mypy(tmp_path: Path, name: str, code: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(code), "utf-8")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--config-file",
         str(tmp_path / "none.toml"), "--cache-dir", str(tmp_path / "cache"), str(path)],
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT,
    )  # fmt: skip


@pytest.mark.slow
def test_mypy_strict_holds_tools_to_the_agents_deps_type(tmp_path: Path) -> None:
    (tmp_path / "none.toml").write_text("[tool.mypy]\n", "utf-8")
    good = mypy(tmp_path, "good", GOOD)
    notes = [line for line in good.stdout.splitlines() if "Revealed type" in line]
    errors = [line for line in good.stdout.splitlines() if ": error:" in line]
    assert errors == [], good.stdout
    assert 'Revealed type is "voxagent.agent.agent.Agent[good.Home]"' in notes[0]
    assert 'Revealed type is "voxagent.tools.definition.Tool[good.Garage]"' in notes[1]
    bad = mypy(tmp_path, "bad", BAD)
    assert bad.returncode == 1, bad.stdout
    errors = [line for line in bad.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, bad.stdout
    assert 'List item 0 has incompatible type "Tool[Home]"; expected' in errors[0]
    assert '"Tool[Garage] | ToolFunction"' in errors[0]


@dataclass
class Home:
    lights: int = 0


@dataclass
class SmartHome(Home):
    hub: str = "hub"


@dataclass
class Garage:
    doors: int = 0


@tool
def set_light(ctx: RunContext[Home], on: bool) -> str:
    """Switch the light."""
    return "ok"


def test_a_deps_of_the_wrong_type_is_refused_naming_the_tool_and_both_types() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Agent(tools=[set_light], deps=Garage())  # type: ignore[misc]
    message = caught.value.message
    module = Home.__module__
    assert message == (
        f"tool 'set_light' takes RunContext[{module}.Home], but the agent's deps is a "
        f"{module}.Garage"
    )
    assert "deps=Home(...)" in (caught.value.hint or "")


def test_tools_added_later_are_checked_too() -> None:
    agent: Agent[Garage] = Agent(deps=Garage())

    def light(ctx: RunContext[Home], on: bool) -> str:
        """Switch."""
        return "ok"

    with pytest.raises(ConfigurationError, match="'light' takes RunContext"):
        agent.tool(light)
    assert "light" not in agent.registry


@pytest.mark.parametrize("deps", [Home(), SmartHome(), None])
def test_matching_subclass_or_no_deps_are_accepted(deps: Any) -> None:
    Agent(tools=[set_light], deps=deps)


def test_untyped_and_generic_contexts_are_not_checked_at_run_time() -> None:
    @tool
    def anything(ctx: RunContext[Any]) -> str:
        """Any deps."""
        return "ok"

    @tool
    def bare(ctx: RunContext) -> str:  # type: ignore[type-arg]
        """Untyped context."""
        return "ok"

    @tool
    def listed(ctx: RunContext[list[int]]) -> str:
        """A generic alias: its origin is checked."""
        return "ok"

    Agent(tools=[anything, bare], deps=Garage())
    Agent(tools=[listed], deps=[1, 2])
    with pytest.raises(ConfigurationError, match="takes RunContext\\[list\\]"):
        Agent(tools=[listed], deps={"not": "a list"})
