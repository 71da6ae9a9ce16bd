"""ModelClient chat and streaming against the scripted server (real sockets)."""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any

import pytest

from voxagent import ModelSettings
from voxagent.audio.clip import AudioClip
from voxagent.client import (
    ModelClient,
    ModelInfo,
    StreamDone,
    TextDelta,
    ToolCallReady,
)
from voxagent.client.types import StreamItem
from voxagent.testing import Reply, ScriptedCall, ScriptedServer

pytestmark = pytest.mark.anyio

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "set_light",
            "description": "Switch a light.",
            "parameters": {
                "type": "object",
                "properties": {"room": {"type": "string"}, "on": {"type": "boolean"}},
                "required": ["room", "on"],
            },
        },
    }
]
USER = [{"role": "user", "content": "Switch on the kitchen light."}]


async def collect(
    client: ModelClient, messages: list[dict[str, Any]], **kw: Any
) -> list[StreamItem]:
    items: list[StreamItem] = []
    async with aclosing(client.stream_chat(messages, **kw)) as stream:
        async for item in stream:
            items.append(item)
    return items


async def test_chat_returns_text_and_sends_voxtral_defaults() -> None:
    async with ScriptedServer([Reply.text("Hello there.")]) as server:
        async with ModelClient(server.base_url) as client:
            response = await client.chat(USER, settings=ModelSettings(seed=7, max_tokens=64))
    assert response.text == "Hello there."
    assert response.finish_reason == "stop"
    assert response.usage is not None and response.usage.prompt_tokens > 0
    sent = server.requests[0]
    assert sent["model"] == "voxtral-test"
    assert (sent["temperature"], sent["top_p"], sent["seed"], sent["max_tokens"]) == (
        0.2,
        0.95,
        7,
        64,
    )
    assert "stream" not in sent
    assert server.errors == []


async def test_chat_tool_call_round_trip_passes_validation() -> None:
    script = [Reply.tool_call("set_light", {"room": "kitchen", "on": True}), Reply.text("Done.")]
    async with ScriptedServer(script) as server:
        async with ModelClient(server.base_url) as client:
            first = await client.chat(
                USER, tools=TOOLS, settings=ModelSettings(tool_choice="set_light")
            )
            (call,) = first.tool_calls
            assert call.name == "set_light" and json.loads(call.arguments) == {
                "room": "kitchen",
                "on": True,
            }
            assert len(call.id) == 9 and call.id.isalnum()
            history = [
                *USER,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": call.id, "content": "on"},
            ]
            final = await client.chat(
                history, tools=TOOLS, settings=ModelSettings(parallel_tool_calls=False)
            )
    assert final.text == "Done."
    assert server.requests[0]["tool_choice"] == {
        "type": "function",
        "function": {"name": "set_light"},
    }
    assert server.requests[1]["parallel_tool_calls"] is False
    assert server.errors == []


async def test_model_resolved_from_models_endpoint_and_cached() -> None:
    async with ScriptedServer(
        [Reply.text("a"), Reply.text("b")], model="served-x", max_model_len=4096
    ) as server:
        async with ModelClient(server.base_url) as client:
            assert await client.resolve_model() == ModelInfo("served-x", 4096)
            await client.chat(USER)
            await client.chat(USER)
            assert await client.list_models() == [ModelInfo("served-x", 4096)]
    assert [r["model"] for r in server.requests] == ["served-x", "served-x"]


async def test_base_url_without_path_gets_v1() -> None:
    async with ScriptedServer([Reply.text("ok")]) as server:
        async with ModelClient(f"http://127.0.0.1:{server.port}") as client:
            assert client.base_url.endswith("/v1")
            assert (await client.chat(USER)).text == "ok"


async def test_stream_text_deltas_usage_and_done() -> None:
    async with ScriptedServer([Reply.text("one two three four", chunk_size=5)]) as server:
        async with ModelClient(server.base_url) as client:
            items = await collect(client, USER)
    deltas = [i.text for i in items if isinstance(i, TextDelta)]
    assert deltas == ["one t", "wo th", "ree f", "our"]
    assert isinstance(items[-1], StreamDone)
    done = items[-1].response
    assert done.text == "one two three four" and done.finish_reason == "stop"
    assert done.usage is not None and done.usage.total_tokens > 0
    assert server.requests[0]["stream"] is True
    assert server.requests[0]["stream_options"] == {"include_usage": True}


async def test_stream_assembles_several_calls_from_fragments() -> None:
    reply = Reply.tool_calls(
        ("set_light", {"room": "kitchen", "on": True}),
        ScriptedCall("set_light", {"room": "bedroom", "on": False}, id="abcDEF123"),
        chunk_size=3,
    )
    async with ScriptedServer([reply]) as server:
        async with ModelClient(server.base_url) as client:
            items = await collect(client, USER, tools=TOOLS)
    ready = [i for i in items if isinstance(i, ToolCallReady)]
    assert [r.index for r in ready] == [0, 1]
    assert json.loads(ready[0].call.arguments) == {"room": "kitchen", "on": True}
    assert ready[1].call.id == "abcDEF123"
    done = items[-1]
    assert isinstance(done, StreamDone)
    assert done.response.tool_calls == tuple(r.call for r in ready)
    assert done.response.finish_reason == "tool_calls"


async def test_tool_call_ready_comes_before_the_stream_finishes() -> None:
    reply = Reply.tool_calls(
        ("set_light", {"room": "kitchen", "on": True}),
        ("set_light", {"room": "bedroom", "on": True}),
        chunk_size=4,
    )
    async with ScriptedServer([reply]) as server:
        async with ModelClient(server.base_url) as client:
            seen: list[str] = []
            async with aclosing(client.stream_chat(USER, tools=TOOLS)) as stream:
                async for item in stream:
                    seen.append(type(item).__name__)
                    if isinstance(item, ToolCallReady) and item.index == 0:
                        # The first call is ready as soon as its JSON closes, before the second.
                        assert json.loads(item.call.arguments)["room"] == "kitchen"
    assert seen == ["ToolCallReady", "ToolCallReady", "StreamDone"]


async def test_stream_early_exit_releases_connection() -> None:
    async with ScriptedServer([Reply.text("x" * 200, chunk_size=1), Reply.text("again")]) as server:
        async with ModelClient(server.base_url) as client:
            async with aclosing(client.stream_chat(USER)) as stream:
                async for item in stream:
                    assert isinstance(item, TextDelta)
                    break
            assert (await client.chat(USER)).text == "again"


async def test_audio_request_is_validated_and_accepted(clip: AudioClip) -> None:
    async with ScriptedServer([Reply.text("heard")]) as server:
        async with ModelClient(server.base_url) as client:
            part = client.dialect.audio_part(clip)
            messages = [{"role": "user", "content": [{"type": "text", "text": "Listen:"}, part]}]
            assert (await client.chat(messages)).text == "heard"
    assert server.errors == []
    assert server.requests[0]["messages"][0]["content"][1]["input_audio"]["format"] == "wav"
    # One short clip costs 1 + 375 tokens on Voxtral.
    assert server.requests and server.rejections == []


async def test_transcribe_sends_multipart_with_token_cap(clip: AudioClip) -> None:
    async with ScriptedServer(transcripts=[Reply.text("hello world")]) as server:
        async with ModelClient(server.base_url) as client:
            text = await client.transcribe(clip, language="en", max_completion_tokens=99)
    assert text == "hello world"
    (received,) = server.transcriptions
    assert received.file == clip.data
    assert received.fields["max_completion_tokens"] == "99"
    assert received.fields["language"] == "en"
    assert received.fields["temperature"] == "0.0"
    assert received.fields["model"] == "voxtral-test"


async def test_injected_http_client_is_not_closed() -> None:
    import httpx

    async with ScriptedServer([Reply.text("a")]) as server, httpx.AsyncClient() as http:
        async with ModelClient(server.base_url, http_client=http) as client:
            await client.chat(USER)
        assert not http.is_closed
