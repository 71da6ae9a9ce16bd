"""Embedding voxagent in your own async program.

export VOXAGENT_BASE_URL=http://127.0.0.1:8000/v1
python examples/embed.py examples/audio/what_time.wav
"""

from __future__ import annotations

import sys

import anyio

from voxagent import Agent, tool
from voxagent.events import ToolCallFinished


@tool
def get_time(timezone: str = "UTC") -> str:
    """Tell the current time.

    Args:
        timezone: An IANA timezone name such as Europe/Paris.
    """
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(timezone)).strftime("%H:%M")


async def main(wav: str) -> None:
    agent = Agent(tools=[get_time], instructions="Answer briefly.")
    async with agent:

        def show(event: object) -> None:
            if isinstance(event, ToolCallFinished):
                print(f"tool {event.name} -> {event.result}")

        turn = await agent.ask(audio=wav, on_event=show)
        print("assistant:", turn.text)
        print("timings:", {k: round(v, 3) for k, v in turn.timings.items()})
        follow_up = await agent.ask(text="And in Tokyo?")
        print("assistant:", follow_up.text)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else "examples/audio/what_time.wav")
