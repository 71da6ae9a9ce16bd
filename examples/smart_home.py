"""A smart-home assistant: lights, thermostat, timers, and a door lock that asks first.

Run it (a server URL in VOXAGENT_BASE_URL or --base-url; see README):
    voxagent run examples/smart_home.py --mic
    voxagent run examples/smart_home.py --audio examples/audio/kitchen_light_on.wav
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

import anyio.lowlevel
from pydantic import BaseModel, Field

from voxagent import Agent, RunContext, ToolError, tool

Room = Literal["kitchen", "bedroom", "living_room", "bathroom"]


@dataclass
class Home:
    """The state the tools act on (in a real app: your home-automation client)."""

    lights: dict[str, int] = field(default_factory=dict)  # room -> brightness, 0 = off
    target_celsius: float = 20.0
    timers: dict[str, int] = field(default_factory=dict)
    door_locked: bool = True


class LightState(BaseModel):
    room: Room
    on: bool
    brightness: int


@tool
def set_light(
    ctx: RunContext[Home],
    room: Room,
    on: bool,
    brightness: Annotated[int, Field(ge=0, le=100)] = 100,
) -> LightState:
    """Switch a light on or off.

    Args:
        room: Which room's light.
        on: True to switch on, False to switch off.
        brightness: Percent, when switching on.
    """
    ctx.deps.lights[room] = brightness if on else 0
    return LightState(room=room, on=on, brightness=brightness if on else 0)


@tool
def set_thermostat(ctx: RunContext[Home], celsius: Annotated[float, Field(ge=10, le=28)]) -> str:
    """Set the target temperature of the flat.

    Args:
        celsius: Target temperature in degrees Celsius.
    """
    ctx.deps.target_celsius = celsius
    return f"Thermostat set to {celsius:g} °C."


@tool(timeout=5.0)
async def start_timer(
    ctx: RunContext[Home],
    label: Annotated[str, Field(max_length=40)],
    minutes: Annotated[int, Field(ge=1, le=240)],
) -> str:
    """Start a kitchen timer.

    Args:
        label: What the timer is for, e.g. "pasta".
        minutes: How long, in minutes.
    """
    if label in ctx.deps.timers:
        raise ToolError(f"A timer called {label!r} is already running; pick another label.")
    await anyio.lowlevel.checkpoint()  # a real app would schedule the alarm here
    ctx.deps.timers[label] = minutes
    return f"Timer {label!r} set for {minutes} minutes."


@tool(confirm=True)
def unlock_front_door(ctx: RunContext[Home]) -> str:
    """Unlock the front door. Always needs the user's spoken confirmation."""
    ctx.deps.door_locked = False
    return "The front door is unlocked."


agent = Agent(
    model=None,  # the server's model; set --model to choose
    tools=[set_light, set_thermostat, start_timer, unlock_front_door],
    instructions=(
        "You are the voice assistant of a flat. Use the tools to act; answer in one short "
        "sentence, in the user's language."
    ),
    deps=Home(),
)
