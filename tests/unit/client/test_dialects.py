"""Dialect differences (vLLM vs Mistral's API), checked on the wire and with the mistralai SDK."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from mistralai.client.models import AudioChunk, ChatCompletionRequest, ChatCompletionStreamRequest

from voxagent import ModelSettings
from voxagent.audio.clip import AudioClip
from voxagent.client import MISTRAL, VLLM, ModelClient, detect_dialect
from voxagent.errors import AuthenticationError, ConfigurationError
from voxagent.testing import Reply, ScriptedServer

pytestmark = pytest.mark.anyio
SECRET = "sk-test-SECRET-1234567890"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "f",
            "description": "d",
            "parameters": {"type": "object", "properties": {}},
        },
    }
]


def sdk_check(model: Any, body: dict[str, Any]) -> None:
    """Validate `body` with a mistralai request model, strictly: no unknown fields or chunks."""
    assert set(body) <= set(model.model_fields), set(body) - set(model.model_fields)
    parsed = model.model_validate(body)
    for message in parsed.messages:
        content = message.content if isinstance(message.content, list) else []
        for part in content:
            assert not getattr(part, "is_unknown", False), part
    audio = [
        p
        for m in parsed.messages
        if isinstance(m.content, list)
        for p in m.content
        if isinstance(p, AudioChunk)
    ]
    assert len(audio) == 1


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://api.mistral.ai/v1", "mistral"),
        ("http://127.0.0.1:8000/v1", "vllm"),
        ("https://my-vllm.example.com/v1", "vllm"),
        ("https://API.MISTRAL.AI", "mistral"),
    ],
)
def test_detect_dialect(url: str, name: str) -> None:
    assert detect_dialect(url).name == name


def test_mistral_without_key_fails_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="no API key") as info:
        ModelClient("https://api.mistral.ai/v1", model="voxtral-mini-latest")
    assert "MISTRAL_API_KEY" in (info.value.hint or "")


def test_tool_choice_and_audio_shapes(clip: AudioClip) -> None:
    assert VLLM.tool_choice("required") == "required"
    assert MISTRAL.tool_choice("required") == "any"
    assert MISTRAL.tool_choice("auto") == "auto"
    assert VLLM.tool_choice("f") == {"type": "function", "function": {"name": "f"}}
    assert isinstance(MISTRAL.audio_part(clip)["input_audio"], str)
    assert VLLM.audio_part(clip)["input_audio"]["format"] == "wav"


async def test_mistral_requests_match_the_sdk_models(
    clip: AudioClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", SECRET)
    script = [Reply.text("a"), Reply.text("b")]
    # Mistral's API shapes are not vLLM's, so the vLLM validator is off for this server.
    async with ScriptedServer(script, model="voxtral-mini-latest", validate=False) as server:
        async with ModelClient(
            server.base_url, model="voxtral-mini-latest", dialect="mistral"
        ) as client:
            messages: list[dict[str, Any]] = [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "hi"}, client.dialect.audio_part(clip)],
                }
            ]
            await client.chat(
                messages, tools=TOOLS, settings=ModelSettings(tool_choice="required", seed=3)
            )
            async for _ in client.stream_chat(messages, settings=ModelSettings(seed=3)):
                pass
    plain, streamed = server.requests
    sdk_check(ChatCompletionRequest, plain)
    sdk_check(ChatCompletionStreamRequest, streamed)
    assert plain["random_seed"] == 3 and "seed" not in plain
    assert plain["tool_choice"] == "any"
    assert "stream_options" not in streamed
    assert server.headers[-1]["authorization"] == f"Bearer {SECRET}"


async def test_vllm_requests_use_seed_and_stream_options() -> None:
    async with ScriptedServer([Reply.text("a")]) as server:
        async with ModelClient(server.base_url, model="voxtral-test") as client:
            async for _ in client.stream_chat(
                [{"role": "user", "content": "x"}], settings=ModelSettings(seed=5)
            ):
                pass
    (sent,) = server.requests
    assert sent["seed"] == 5 and "random_seed" not in sent
    assert sent["stream_options"] == {"include_usage": True}
    assert "authorization" not in server.headers[-1]
    with pytest.raises(AssertionError):
        sdk_check(ChatCompletionStreamRequest, sent)  # vLLM's shape is not Mistral's


async def test_api_key_never_appears_in_errors_repr_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with ScriptedServer([Reply.error(500, "boom")], api_key="right-key") as server:
        async with ModelClient(server.base_url, model="voxtral-test", api_key=SECRET) as client:
            assert SECRET not in repr(client)
            with pytest.raises(AuthenticationError) as info:
                await client.chat([{"role": "user", "content": "x"}])
    error = info.value
    texts = [str(error), repr(error), error.hint or "", str(error.server_message), caplog.text]
    assert all(SECRET not in text for text in texts)
    assert "check the API key" in (error.hint or "")


async def test_mistral_transcription_uses_its_transcription_model_and_the_sdk_fields(
    clip: AudioClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mistralai.client.models.audiotranscriptionrequest import AudioTranscriptionRequest

    monkeypatch.setenv("MISTRAL_API_KEY", SECRET)
    # The hosted API serves both; this stand-in serves the transcription model only.
    async with ScriptedServer(
        transcripts=[Reply.text("hello")], model="voxtral-mini-transcribe-3", validate=False
    ) as server:
        async with ModelClient(
            server.base_url, model="voxtral-small-latest", dialect="mistral"
        ) as client:
            text = await client.transcribe(clip, language="fr")
    assert text == "hello"
    [request] = server.transcriptions
    assert request.fields["model"] == "voxtral-mini-transcribe-3"  # Voxtral 3, not the chat model
    known = set(AudioTranscriptionRequest.model_fields)
    assert set(request.fields) <= known, set(request.fields) - known
    AudioTranscriptionRequest.model_validate({**request.fields, "file_url": "https://x/a.wav"})


async def test_vllm_transcription_caps_tokens_and_uses_the_served_model(clip: AudioClip) -> None:
    async with ScriptedServer(transcripts=[Reply.text("hi")]) as server:
        async with ModelClient(server.base_url) as client:
            await client.transcribe(clip, max_completion_tokens=40)
    [request] = server.transcriptions
    assert request.fields["model"] == "voxtral-test"
    assert request.fields["max_completion_tokens"] == "40"
    assert request.fields["response_format"] == "json"
