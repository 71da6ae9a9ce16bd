"""Fixtures for agent tests: anyio on asyncio, a spoken clip, a home with lights."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from voxagent import RunContext, tool

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "audio"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def wav() -> Path:
    return EXAMPLES / "kitchen_light_on.wav"


@dataclass
class Home:
    lights: dict[str, bool] = field(default_factory=dict)
    unlocked: bool = False
    log: list[str] = field(default_factory=list)


@tool
def set_light(ctx: RunContext[Home], room: Literal["kitchen", "bedroom"], on: bool) -> str:
    """Switch a light on or off.

    Args:
        room: Which room's light.
        on: True to switch on.
    """
    ctx.deps.lights[room] = on
    ctx.deps.log.append(f"set_light {room} {on}")
    return f"{room} light {'on' if on else 'off'}"


@tool(confirm=True)
def unlock_door(ctx: RunContext[Home]) -> str:
    """Unlock the front door."""
    ctx.deps.unlocked = True
    return "unlocked"


@pytest.fixture
def home() -> Home:
    return Home()
