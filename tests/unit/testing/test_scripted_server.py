"""The scripted server: vLLM-style validation, recording, scripting, endpoints (raw httpx)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from voxagent.audio.clip import AudioClip
from voxagent.client import VLLM
from voxagent.testing import Reply, ScriptedServer

pytestmark = pytest.mark.anyio


def audio_msg(clip: AudioClip, text: str = "Listen:") -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text}, VLLM.audio_part(clip)]}


def call_msgs(call_id: str, answer_id: str | None = None) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "switch it on"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": answer_id or call_id, "content": "done"},
    ]


async def post(server: ScriptedServer, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(f"{server.base_url}/chat/completions", json=body)


def chat(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "voxtral-test", "messages": messages, **extra}


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([{"role": "system", "content": "Be brief."}, "AUDIO"], "system"),
        (call_msgs("call_1"), "length of 9"),
        (call_msgs("abc-12345"), "length of 9"),
        ([{"role": "assistant", "content": "hi"}], ""),
        (
            [
                *call_msgs("abcdefghi")[:2],
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": "y"},
                {"role": "user", "content": "z"},
            ],
            "number of function calls",
        ),
    ],
    ids=["system-with-audio", "short-id", "dash-id", "assistant-last", "missing-tool-result"],
)
async def test_invalid_requests_get_vllm_400_and_are_recorded(
    messages: list[Any], fragment: str, clip: AudioClip
) -> None:
    messages = [audio_msg(clip) if m == "AUDIO" else m for m in messages]
    async with ScriptedServer([Reply.text("unused")]) as server:
        response = await post(server, chat(messages))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400 and error["type"] == "BadRequestError"
    assert fragment.lower() in error["message"].lower()
    (rejection,) = server.errors
    assert rejection.status == 400 and rejection.message == error["message"]
    assert server.pending == 1  # a rejected request does not use up the script


async def test_valid_tool_round_trip_and_long_ids_truncated_like_vllm() -> None:
    async with ScriptedServer([Reply.text("ok"), Reply.text("ok")]) as server:
        assert (await post(server, chat(call_msgs("abcdefghi")))).status_code == 200
        # vLLM keeps the last 9 characters: "call_abc123xyz" -> "abc123xyz" is valid.
        assert (await post(server, chat(call_msgs("call_abc123xyz")))).status_code == 200
    assert server.errors == []


async def test_audio_limit(clip: AudioClip) -> None:
    turns: list[dict[str, Any]] = []
    for i in range(6):
        turns.append(audio_msg(clip, f"turn {i}"))
        turns.append({"role": "assistant", "content": f"answer {i}"})
    async with ScriptedServer([Reply.text("ok"), Reply.text("ok")], max_audio=5) as server:
        ok = await post(server, chat(turns[2:-1]))
        too_many = await post(server, chat(turns[:-1]))
    assert ok.status_code == 200
    assert too_many.status_code == 400
    assert (
        too_many.json()["error"]["message"] == "At most 5 audio(s) may be provided in one prompt."
    )


async def test_max_model_len_counts_audio_tokens(clip: AudioClip) -> None:
    async with ScriptedServer([Reply.text("ok")], max_model_len=300) as server:
        text_only = await post(server, chat([{"role": "user", "content": "hello"}]))
        with_audio = await post(server, chat([audio_msg(clip)]))
        too_long_answer = await post(
            server, chat([{"role": "user", "content": "hello"}], max_tokens=1000)
        )
    assert text_only.status_code == 200
    assert text_only.json()["usage"]["prompt_tokens"] < 20
    assert with_audio.status_code == 400  # a clip costs 1 + 375 tokens
    assert "maximum context length is 300 tokens" in with_audio.json()["error"]["message"]
    assert too_long_answer.status_code == 400
    assert "'max_tokens'" in too_long_answer.json()["error"]["message"]


async def test_named_tool_choice_must_name_a_tool() -> None:
    body = chat(
        [{"role": "user", "content": "x"}],
        tool_choice={"type": "function", "function": {"name": "nope"}},
    )
    async with ScriptedServer([Reply.text("unused")]) as server:
        response = await post(server, body)
    assert response.status_code == 400 and "nope" in response.json()["error"]["message"]


async def test_callable_replies_default_and_add() -> None:
    def echo(body: dict[str, Any]) -> Reply:
        return Reply.text(f"you said {body['messages'][-1]['content']}")

    async def later(body: dict[str, Any]) -> Reply:
        await anyio.lowlevel.checkpoint()
        return Reply.text("async")

    async with ScriptedServer([echo], default=Reply.text("default")) as server:
        server.add(later)
        texts = []
        for word in ["a", "b", "c"]:
            response = await post(server, chat([{"role": "user", "content": word}]))
            texts.append(response.json()["choices"][0]["message"]["content"])
    assert texts == ["you said a", "async", "default"]
    assert [r["messages"][0]["content"] for r in server.requests] == ["a", "b", "c"]


async def test_server_made_ids_are_vllm_shaped_and_overridable() -> None:
    reply = Reply.tool_calls(("f", {}), ("g", '{"raw": '))
    bad = Reply.tool_call("f", {}, id="call_1")
    async with ScriptedServer([reply, bad]) as server:
        first = (await post(server, chat([{"role": "user", "content": "x"}]))).json()
        second = (await post(server, chat([{"role": "user", "content": "x"}]))).json()
    calls = first["choices"][0]["message"]["tool_calls"]
    assert [len(c["id"]) for c in calls] == [9, 9] and all(c["id"].isalnum() for c in calls)
    assert calls[1]["function"]["arguments"] == '{"raw": '  # malformed on purpose, sent as is
    assert first["choices"][0]["finish_reason"] == "tool_calls"
    assert second["choices"][0]["message"]["tool_calls"][0]["id"] == "call_1"


async def test_models_health_auth_and_unknown_paths() -> None:
    async with ScriptedServer(model="m1", max_model_len=1234, api_key="k") as server:
        async with httpx.AsyncClient() as http:
            health = await http.get(f"http://127.0.0.1:{server.port}/health")
            denied = await http.get(f"{server.base_url}/models")
            models = await http.get(
                f"{server.base_url}/models", headers={"Authorization": "Bearer k"}
            )
            missing = await http.get(
                f"{server.base_url}/nothing", headers={"Authorization": "Bearer k"}
            )
    assert health.status_code == 200
    assert denied.status_code == 401
    assert models.json()["data"][0]["id"] == "m1"
    assert models.json()["data"][0]["max_model_len"] == 1234
    assert missing.status_code == 404


async def test_streamed_answer_wire_format() -> None:
    reply = Reply.tool_call("f", {"a": 1}, content="hi", chunk_size=2)
    async with ScriptedServer([reply]) as server:
        async with httpx.AsyncClient() as http:
            body = chat(
                [{"role": "user", "content": "x"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            response = await http.post(f"{server.base_url}/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    first_call = next(
        c for c in chunks if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    )
    delta = first_call["choices"][0]["delta"]["tool_calls"][0]
    assert delta["index"] == 0 and len(delta["id"]) == 9 and delta["function"]["name"] == "f"
    fragments = [
        c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
        for c in chunks
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    assert "".join(fragments) == '{"a": 1}'


async def test_restart_on_the_same_port() -> None:
    server = ScriptedServer([Reply.text("one"), Reply.text("two")])
    async with server:
        port = server.port
        assert (await post(server, chat([{"role": "user", "content": "x"}]))).status_code == 200
        await server.stop()
        with pytest.raises(httpx.ConnectError):
            await post(server, chat([{"role": "user", "content": "x"}]))
        await server.start()
        assert server.port == port
        assert (await post(server, chat([{"role": "user", "content": "x"}]))).status_code == 200


async def test_transcription_script_exhausted_names_the_problem(clip: AudioClip) -> None:
    async with ScriptedServer() as server:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{server.base_url}/audio/transcriptions",
                data={"model": "voxtral-test"},
                files={"file": ("a.wav", clip.data, "audio/wav")},
            )
    assert response.status_code == 500
    assert "add_transcripts" in response.json()["error"]["message"]
    assert server.transcriptions[0].file == clip.data


@pytest.mark.anyio
async def test_go_down_and_come_up_while_an_agent_is_open() -> None:
    from voxagent import Agent
    from voxagent.errors import ServerUnavailableError

    replies = [Reply.text("one"), Reply.text("two"), Reply.text("three")]
    async with ScriptedServer(replies) as server:
        port = server.port
        async with Agent(base_url=server.base_url) as agent:
            assert (await agent.ask(text="a")).text == "one"
            await server.go_down()
            with pytest.raises(ServerUnavailableError):
                await agent.ask(text="b")
            await server.come_up()
            assert server.port == port
            assert (await agent.ask(text="c")).text == "two"
            await server.restart()
            assert (await agent.ask(text="d")).text == "three"
    assert server.errors == []
