"""Faults the real vLLM CPU server shows: requests it rejects, and a wrong model name.

Each fault is sent raw through the agent's own client (bypassing the repairs voxagent makes), so
the error is the server's; then the same conversation must go on through `Agent.ask`.
It lives here rather than in tests/faults/ because the `vllm_chat_server` session fixture belongs
to this package's conftest (pytest no longer supports `pytest_plugins` in a nested conftest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from voxagent import Agent
from voxagent.audio import to_clip
from voxagent.conversation import Conversation
from voxagent.errors import BadRequestError, ModelNotFoundError

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(300)]

AUDIO = Path(__file__).resolve().parents[2] / "examples" / "audio"


def _agent(server: Any, **options: Any) -> Agent[None]:
    return Agent(
        model=server.model, base_url=server.base_url, max_tokens=8, temperature=0.0, **options
    )


async def _goes_on(agent: Agent[Any]) -> None:
    """One more turn of the same conversation is accepted and recorded."""
    before = len(agent.conversation.turns)
    turn = await agent.ask(text="Say hello.")
    assert isinstance(turn.text, str)
    assert len(agent.conversation.turns) == before + 2


async def test_raw_bad_tool_call_ids_get_vllms_message_and_the_conversation_goes_on(
    vllm_chat_server: Any,
) -> None:
    messages = [
        {"role": "user", "content": "Kitchen light on."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "ab-12",  # Mistral wants 9 letters and digits
                    "type": "function",
                    "function": {"name": "set_light", "arguments": '{"on": true}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "ab-12", "content": "on"},
    ]
    async with _agent(vllm_chat_server) as agent:
        with pytest.raises(BadRequestError) as raised:
            await agent.client.chat(messages, max_tokens=4)
        error = raised.value
        assert error.status_code == 400
        assert error.server_message and "ab-12" in error.server_message
        assert "\n" not in error.message
        await _goes_on(agent)


async def test_six_raw_audio_items_get_the_audio_limit_hint_and_the_conversation_goes_on(
    vllm_chat_server: Any,
) -> None:
    async with _agent(vllm_chat_server) as agent:
        part = agent.client.dialect.audio_part(to_clip(AUDIO / "what_time.wav"))
        with pytest.raises(BadRequestError) as raised:
            await agent.client.chat([{"role": "user", "content": [part] * 6}], max_tokens=4)
        assert raised.value.hint is not None and "audio" in raised.value.hint.lower()
        await _goes_on(agent)


async def test_a_wrong_model_name_names_the_served_model_and_the_conversation_goes_on(
    vllm_chat_server: Any,
) -> None:
    conversation = Conversation()
    wrong = Agent(
        model="mistralai/No-Such-Model",
        base_url=vllm_chat_server.base_url,
        conversation=conversation,
    )
    with pytest.raises(ModelNotFoundError) as raised:
        async with wrong:
            pass
    assert "No-Such-Model" in raised.value.message
    assert raised.value.hint is not None and vllm_chat_server.model in raised.value.hint
    assert len(conversation.turns) == 0
    async with _agent(vllm_chat_server, conversation=conversation) as agent:
        await _goes_on(agent)
