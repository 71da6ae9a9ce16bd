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

from voxagent import Agent, ModelSettings
from voxagent.audio import to_clip
from voxagent.conversation import Conversation
from voxagent.errors import BadRequestError, ModelNotFoundError

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(300)]

AUDIO = Path(__file__).resolve().parents[2] / "examples" / "audio"


def _agent(server: Any, **options: Any) -> Agent[None]:
    return Agent(
        model=server.model,
        base_url=server.base_url,
        settings=ModelSettings(max_tokens=8, temperature=0.0),
        **options,
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
            await agent.client.chat(messages, settings=ModelSettings(max_tokens=4))
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
            await agent.client.chat(
                [{"role": "user", "content": [part] * 6}], settings=ModelSettings(max_tokens=4)
            )
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


@pytest.mark.parametrize(
    ("stream", "max_tokens"),
    [(True, 16), (True, 40), (False, 16), (False, 40)],
    ids=["stream-16", "stream-40", "whole-16", "whole-40"],
)
async def test_a_named_tool_call_cut_at_max_tokens_never_runs_on_the_real_server(
    vllm_chat_server: Any, stream: bool, max_tokens: int
) -> None:
    """vLLM forces the named tool's JSON arguments; a few tokens cannot close them.

    What vLLM 0.32 sends then (seen on this model): streamed, 16 tokens end before the call is
    announced and 40 end inside its arguments; whole, the cut JSON comes back as plain content.
    In every case the tool must not run and the user is told to raise max_tokens.
    """
    from voxagent import tool
    from voxagent.events import ErrorEvent, Event

    ran: list[str] = []

    @tool(confirm=True)
    def clear_ledger(account: str, reason: str) -> str:
        """Erase an account's ledger.

        Args:
            account: Which account.
            reason: Why.
        """
        ran.append(account)
        return "cleared"

    events: list[Event] = []
    agent = Agent(
        model=vllm_chat_server.model,
        base_url=vllm_chat_server.base_url,
        tools=[clear_ledger],
        settings=ModelSettings(
            tool_choice="clear_ledger",
            max_tokens=max_tokens,
            temperature=0.0,
            stream=stream,
        ),
        approval="always",
        max_tool_rounds=1,
    )
    async with agent:
        turn = await agent.ask(text="Clear the ledger of account 7.", on_event=events.append)
        assert ran == []
        cut = [e for e in events if isinstance(e, ErrorEvent) and e.error_type == "AnswerTruncated"]
        assert cut and "max_tokens" in (cut[0].hint or "")
        if stream and max_tokens == 40:
            first = turn.tool_calls[0]
            assert first.name == "clear_ledger"
            assert first.result.error_kind == "truncated" and "cut off" in first.result.content
        # The conversation goes on: the real server accepts the next request.
        before = len(agent.conversation.turns)
        await agent.ask(text="Say hello.", tool_choice="none")
        assert len(agent.conversation.turns) > before
        assert agent.conversation.pending_tool_calls() == []
