"""The real vLLM CPU servers speak the protocol voxagent relies on (raw httpx / websockets)."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from websockets.asyncio.client import connect

from .conftest import LIGHT

pytestmark = pytest.mark.integration


def _tone(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (np.sin(2 * np.pi * 220 * t) * 8000).astype(np.int16)


def _wav_base64(seconds: float = 1.0) -> str:
    buffer = io.BytesIO()
    sf.write(buffer, _tone(seconds), 16000, format="WAV", subtype="PCM_16")
    return base64.b64encode(buffer.getvalue()).decode()


def _chat(server: Any, **body: Any) -> dict[str, Any]:
    body = {"model": server.model, "temperature": 0.0, "max_tokens": 16, **body}
    response = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=120)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_models_reports_max_model_len(vllm_chat_server: Any) -> None:
    models = httpx.get(f"{vllm_chat_server.base_url}/models", timeout=30).json()
    assert [entry["id"] for entry in models["data"]] == [vllm_chat_server.model]
    assert models["data"][0]["max_model_len"] == vllm_chat_server.max_model_len == 4096


def test_audio_chat_with_input_audio(vllm_chat_server: Any) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": _wav_base64(), "format": "wav"}}
    text = {"type": "text", "text": "What do you hear?"}
    result = _chat(vllm_chat_server, messages=[{"role": "user", "content": [audio, text]}])
    assert isinstance(result["choices"][0]["message"]["content"], str)
    # The audio reached the model: one 30 s chunk is 375 audio tokens (+ [BEGIN_AUDIO]).
    assert result["usage"]["prompt_tokens"] > 376


def test_named_tool_choice_returns_a_valid_call(vllm_chat_server: Any) -> None:
    result = _chat(
        vllm_chat_server,
        messages=[{"role": "user", "content": "Kitchen light on, please."}],
        tools=[LIGHT],
        tool_choice={"type": "function", "function": {"name": "set_light"}},
        max_tokens=100,
    )
    calls = result["choices"][0]["message"]["tool_calls"]
    assert len(calls) == 1
    assert re.fullmatch(r"[A-Za-z0-9]{9}", calls[0]["id"])
    assert calls[0]["function"]["name"] == "set_light"
    arguments = json.loads(calls[0]["function"]["arguments"])
    assert arguments["room"] in {"kitchen", "bedroom"}
    assert isinstance(arguments["on"], bool)


def test_bad_tool_call_id_is_a_400(vllm_chat_server: Any) -> None:
    call = {"id": "bad", "type": "function", "function": {"name": "set_light", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "lights"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "bad", "name": "set_light", "content": "done"},
    ]
    body = {"model": vllm_chat_server.model, "messages": messages, "tools": [LIGHT]}
    response = httpx.post(f"{vllm_chat_server.base_url}/chat/completions", json=body, timeout=60)
    assert response.status_code == 400


@pytest.mark.anyio
async def test_realtime_session_and_transcription(vllm_realtime_server: Any) -> None:
    async with connect(vllm_realtime_server.websocket_url, open_timeout=30) as socket:
        created = json.loads(await socket.recv())
        assert created["type"] == "session.created"
        update = {"type": "session.update", "model": vllm_realtime_server.model}
        await socket.send(json.dumps(update))
        await socket.send(json.dumps({"type": "input_audio_buffer.commit"}))
        pcm = base64.b64encode(_tone(1.0).tobytes()).decode()
        await socket.send(json.dumps({"type": "input_audio_buffer.append", "audio": pcm}))
        await socket.send(json.dumps({"type": "input_audio_buffer.commit", "final": True}))
        deltas = 0
        while True:
            event = json.loads(await socket.recv())
            assert event["type"] in {"transcription.delta", "transcription.done"}, event
            if event["type"] == "transcription.done":
                break
            deltas += 1
        assert isinstance(event["text"], str)
        assert deltas >= 1  # one delta per 80 ms of audio once the 480 ms delay has passed
