"""`ModelClient` and `Conversation` against the real vLLM CPU server (tiny random-weight Voxtral).

The model's text is junk, but the protocol is vLLM's own: these tests prove that what voxagent
renders and sends is accepted, and that what vLLM answers is understood. Every request caps
`max_tokens`, otherwise the random model talks until max_model_len.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from voxagent import ModelSettings
from voxagent.audio import to_clip
from voxagent.audio.clip import AudioClip
from voxagent.client import (
    ChatResponse,
    ModelClient,
    StreamDone,
    StreamItem,
    TextDelta,
    ToolCall,
    ToolCallReady,
)
from voxagent.conversation import Budget, Conversation, is_valid_call_id
from voxagent.errors import BadRequestError, ModelNotFoundError

from .conftest import LIGHT

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(300)]

AUDIO = Path(__file__).resolve().parents[2] / "examples" / "audio"


def _clip(name: str = "kitchen_light_on") -> AudioClip:
    return to_clip(AUDIO / f"{name}.wav")


def _audio_parts(messages: list[dict[str, Any]]) -> int:
    return sum(
        1
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if part.get("type") == "input_audio"
    )


def _client(server: Any, **options: Any) -> ModelClient:
    return ModelClient(server.base_url, model=server.model, timeout=120.0, **options)


async def test_models_resolve_reports_the_context(vllm_chat_server: Any) -> None:
    async with ModelClient(vllm_chat_server.base_url, timeout=60.0) as client:
        info = await client.resolve_model()
        assert info.id == vllm_chat_server.model
        assert info.max_model_len == 4096
        # model=None: the client adopts the server's model for later requests.
        assert client.model == vllm_chat_server.model


async def test_audio_turn_is_heard(vllm_chat_server: Any) -> None:
    conversation = Conversation("You control the lights of a flat.")
    conversation.add_user(audio=_clip())
    async with _client(vllm_chat_server) as client:
        messages = conversation.render(client.dialect)
        assert _audio_parts(messages) == 1
        response = await client.chat(
            messages, settings=ModelSettings(temperature=0.0, max_tokens=16)
        )
    assert isinstance(response.text, str) and response.text
    assert response.tool_calls == ()
    assert response.usage is not None
    # The audio reached the encoder: one 30 s chunk costs 375 tokens plus [BEGIN_AUDIO].
    assert response.usage.prompt_tokens > 376
    assert response.usage.completion_tokens <= 16


async def test_named_tool_choice_round_trip(vllm_chat_server: Any) -> None:
    conversation = Conversation("You control the lights of a flat.")
    conversation.add_user(audio=_clip())
    async with _client(vllm_chat_server) as client:
        first = await client.chat(
            conversation.render(client.dialect, tools=[LIGHT]),
            tools=[LIGHT],
            settings=ModelSettings(
                tool_choice="set_light",
                temperature=0.0,
                max_tokens=64,
            ),
        )
        assert len(first.tool_calls) == 1, first
        call = first.tool_calls[0]
        assert call.name == "set_light"
        assert re.fullmatch(r"[A-Za-z0-9]{9}", call.id)
        arguments = json.loads(call.arguments)
        assert arguments["room"] in {"kitchen", "bedroom"}
        assert isinstance(arguments["on"], bool)
        stored = conversation.add_assistant(first.text, first.tool_calls)
        assert stored.tool_calls[0].id == call.id  # a valid server id is kept
        conversation.add_tool_result(call.id, call.name, json.dumps({"ok": True, **arguments}))
        messages = conversation.render(client.dialect, tools=[LIGHT])
        assert [m["role"] for m in messages][-2:] == ["assistant", "tool"]
        final = await client.chat(
            messages,
            tools=[LIGHT],
            settings=ModelSettings(tool_choice="auto", temperature=0.0, max_tokens=16),
        )
    assert final.tool_calls == ()  # random weights with "auto": text, never a call
    assert isinstance(final.text, str) and final.text
    conversation.add_assistant(final.text)
    assert len(conversation.turns) == 4


async def _collect(
    client: ModelClient,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    **settings: Any,
) -> list[StreamItem]:
    items: list[StreamItem] = []
    async for item in client.stream_chat(
        messages, tools=tools, settings=ModelSettings(temperature=0.0, **settings)
    ):
        items.append(item)
    return items


async def test_streaming_text(vllm_chat_server: Any) -> None:
    conversation = Conversation()
    conversation.add_user(audio=_clip("what_time"))
    async with _client(vllm_chat_server) as client:
        messages = conversation.render(client.dialect)
        items = await _collect(client, messages, max_tokens=16)
        whole = await client.chat(messages, settings=ModelSettings(temperature=0.0, max_tokens=16))
    deltas = [item for item in items if isinstance(item, TextDelta)]
    assert len(deltas) >= 2  # incremental, not one lump
    assert isinstance(items[-1], StreamDone)
    assert sum(isinstance(item, StreamDone) for item in items) == 1
    done: ChatResponse = items[-1].response
    assert done.text == "".join(delta.text for delta in deltas)
    # Temperature 0 is deterministic: the stream assembles to the non-streamed answer.
    assert done.text == whole.text
    assert done.usage is not None and 0 < done.usage.completion_tokens <= 16


async def test_streaming_tool_call(vllm_chat_server: Any) -> None:
    conversation = Conversation()
    conversation.add_user(audio=_clip())
    async with _client(vllm_chat_server) as client:
        messages = conversation.render(client.dialect, tools=[LIGHT])
        items = await _collect(
            client, messages, tools=[LIGHT], tool_choice="set_light", max_tokens=64
        )
    ready = [item for item in items if isinstance(item, ToolCallReady)]
    assert len(ready) == 1
    assert isinstance(items[-1], StreamDone)
    assert items.index(ready[0]) < len(items) - 1  # the call is ready before the stream ends
    call = ready[0].call
    assert call.name == "set_light"
    assert re.fullmatch(r"[A-Za-z0-9]{9}", call.id)
    arguments = json.loads(call.arguments)
    assert arguments["room"] in {"kitchen", "bedroom"}
    assert items[-1].response.tool_calls == (call,)
    # vLLM reports "stop" for a NAMED tool_choice (guided decoding), "tool_calls" otherwise.
    assert items[-1].response.finish_reason in {"stop", "tool_calls"}


async def test_transcription(vllm_chat_server: Any) -> None:
    async with _client(vllm_chat_server) as client:
        text = await client.transcribe(_clip(), language="en", max_completion_tokens=8)
    assert isinstance(text, str)
    assert text.strip()


async def test_wrong_model_name_names_the_served_model(vllm_chat_server: Any) -> None:
    async with ModelClient(
        vllm_chat_server.base_url, model="mistralai/No-Such-Model", timeout=60.0
    ) as client:
        with pytest.raises(ModelNotFoundError) as raised:
            await client.chat(
                [{"role": "user", "content": "hello"}], settings=ModelSettings(max_tokens=4)
            )
        assert raised.value.hint is not None
        assert vllm_chat_server.model in raised.value.hint
        assert "No-Such-Model" in raised.value.message
        with pytest.raises(ModelNotFoundError) as resolved:
            await client.resolve_model()
        assert resolved.value.hint is not None
        assert vllm_chat_server.model in resolved.value.hint


async def test_bad_tool_call_ids_are_repaired(vllm_chat_server: Any) -> None:
    conversation = Conversation("You control the lights of a flat.")
    conversation.add_user(text="Kitchen light on, and the bedroom too.")
    bad = (
        ToolCall("call_abc-123", "set_light", '{"room": "kitchen", "on": true}'),
        ToolCall("call_abc-124", "set_light", '{"room": "bedroom", "on": true}'),
    )
    conversation.add_assistant(None, bad)
    conversation.add_tool_result("call_abc-123", "set_light", "kitchen: on")
    conversation.add_tool_result("call_abc-124", "set_light", "bedroom: on")
    async with _client(vllm_chat_server) as client:
        messages = conversation.render(client.dialect, tools=[LIGHT])
        rendered = [c["id"] for m in messages for c in m.get("tool_calls") or []]
        answered = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
        assert len(rendered) == 2 and all(is_valid_call_id(i) for i in rendered)
        assert answered == rendered
        response = await client.chat(
            messages, tools=[LIGHT], settings=ModelSettings(temperature=0.0, max_tokens=16)
        )
    assert isinstance(response.text, str)


async def test_budget_keeps_six_audio_turns_under_the_limit(vllm_chat_server: Any) -> None:
    names = [
        "kitchen_light_on",
        "bedroom_light_off",
        "thermostat_21",
        "pasta_timer",
        "what_time",
        "salon_lumiere",
    ]
    conversation = Conversation("You control the lights of a flat.")
    for index, name in enumerate(names):
        conversation.add_user(audio=_clip(name))
        if index < len(names) - 1:
            conversation.add_assistant(f"Done ({index}).")
    async with _client(vllm_chat_server) as client:
        budget = Budget(
            max_audio_items=5, max_tokens=vllm_chat_server.max_model_len, reserve_tokens=16
        )
        messages = conversation.render(client.dialect, budget=budget)
        # Past the limit, compaction takes a step of three (Budget.step): the three oldest clips
        # became text, so the next two turns extend this request instead of changing it.
        assert _audio_parts(messages) == 3
        response = await client.chat(
            messages, settings=ModelSettings(temperature=0.0, max_tokens=16)
        )
    assert isinstance(response.text, str)


async def test_six_raw_audio_items_are_rejected_with_a_hint(vllm_chat_server: Any) -> None:
    async with _client(vllm_chat_server) as client:
        part = client.dialect.audio_part(_clip("what_time"))
        messages = [{"role": "user", "content": [part] * 6}]
        with pytest.raises(BadRequestError) as raised:
            await client.chat(messages, settings=ModelSettings(temperature=0.0, max_tokens=4))
    error = raised.value
    assert error.status_code == 400
    assert error.server_message and "audio" in error.server_message.lower()
    assert error.hint is not None and "audio" in error.hint.lower()
    assert "5" in error.hint
