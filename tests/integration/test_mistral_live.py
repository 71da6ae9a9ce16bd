"""Mistral's hosted API, live: chat with audio and tools, a multi-turn conversation, transcription.

These run only with `MISTRAL_API_KEY` set (never in CI: no key, no network there). The requests
they make are the ones the offline tests check field by field against the `mistralai` SDK's own
request models (tests/unit/client/test_dialects.py); the hosted realtime protocol's live test is
in test_realtime.py.

    MISTRAL_API_KEY=... .venv/bin/pytest tests/integration/test_mistral_live.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import pytest

from voxagent import Agent, tool
from voxagent.audio import to_clip
from voxagent.client import ModelClient

pytestmark = [
    pytest.mark.integration,
    pytest.mark.anyio,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not os.environ.get("MISTRAL_API_KEY"), reason="talks to api.mistral.ai: set MISTRAL_API_KEY"
    ),
]

BASE_URL = "https://api.mistral.ai/v1"
CHAT_MODEL = os.environ.get("VOXAGENT_MISTRAL_MODEL", "voxtral-small-latest")
AUDIO = Path(__file__).resolve().parents[2] / "examples" / "audio"


@tool
def set_light(room: Literal["kitchen", "bedroom", "living room"], on: bool) -> str:
    """Switch a room's light on or off.

    Args:
        room: Which room.
        on: True to switch the light on, False to switch it off.
    """
    return f"The {room} light is now {'on' if on else 'off'}."


def _agent() -> Agent[None]:
    return Agent(
        model=CHAT_MODEL,
        base_url=BASE_URL,
        tools=[set_light],
        instructions="You control the lights. Use the tool for every light request.",
    )


async def test_a_spoken_command_calls_the_tool_and_gets_an_answer() -> None:
    async with _agent() as agent:
        result = await agent.ask(audio=AUDIO / "kitchen_light_on.wav")
    assert [call.name for call in result.tool_calls] == ["set_light"], result
    call = result.tool_calls[0]
    assert not call.result.is_error, call.result.content
    assert json.loads(call.arguments) == {"room": "kitchen", "on": True}
    assert result.text  # the model answered after the tool's result went back


async def test_a_conversation_of_audio_and_text_turns_stays_valid() -> None:
    async with _agent() as agent:
        await agent.ask(audio=AUDIO / "kitchen_light_on.wav")
        await agent.ask(audio=AUDIO / "bedroom_light_off.wav")
        last = await agent.ask(text="Which rooms did I ask about? Answer in one short sentence.")
    assert "kitchen" in last.text.lower() and "bedroom" in last.text.lower(), last.text


async def test_transcription_uses_the_hosted_transcription_model() -> None:
    async with ModelClient(BASE_URL, model=CHAT_MODEL) as client:
        text = await client.transcribe(to_clip(AUDIO / "kitchen_light_on.wav"), language="en")
    assert "kitchen" in text.lower(), text
