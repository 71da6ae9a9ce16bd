"""The tiny Voxtral tokenizer validates requests exactly as mistral_common does in vLLM."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

from voxagent.testing.tekken import (
    tiny_tekken_config,
    tiny_voxtral_params,
    write_tiny_tekken,
    write_tiny_voxtral,
)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "set_light",
            "description": "Switch a light.",
            "parameters": {"type": "object", "properties": {"on": {"type": "boolean"}}},
        },
    }
]


def _audio_part(seconds: float = 1.0) -> dict[str, Any]:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(int(16000 * seconds), dtype=np.int16), 16000, format="WAV")
    data = base64.b64encode(buffer.getvalue()).decode()
    return {"type": "input_audio", "input_audio": {"data": data, "format": "wav"}}


def _call(call_id: str) -> list[dict[str, Any]]:
    function = {"name": "set_light", "arguments": '{"on": true}'}
    call = {"id": call_id, "type": "function", "function": function}
    return [
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "name": "set_light", "content": "done"},
    ]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> MistralTokenizer:
    return MistralTokenizer.from_file(str(write_tiny_tekken(tmp_path_factory.mktemp("tekken"))))


def _encode(tokenizer: MistralTokenizer, messages: list[dict[str, Any]]) -> Any:
    request = ChatCompletionRequest.from_openai(messages=messages, tools=TOOLS)
    return tokenizer.encode_chat_completion(request)


def test_audio_chat_with_tool_round_trip_encodes(tokenizer: MistralTokenizer) -> None:
    user = {"role": "user", "content": [_audio_part(), {"type": "text", "text": "lights"}]}
    encoded = _encode(tokenizer, [user, *_call("abcDEF123")])
    assert len(encoded.audios) == 1
    # 1 s of audio pads to a 30 s chunk: 375 audio tokens, plus the text around it.
    assert encoded.tokens.count(24) == 375
    assert 9 in encoded.tokens  # [TOOL_CALLS]


def test_system_prompt_with_audio_is_refused(tokenizer: MistralTokenizer) -> None:
    user = {"role": "user", "content": [_audio_part()]}
    with pytest.raises(ValueError, match="system messages"):
        _encode(tokenizer, [{"role": "system", "content": "Be brief."}, user])


def test_bad_tool_call_id_is_refused(tokenizer: MistralTokenizer) -> None:
    user = {"role": "user", "content": "lights"}
    with pytest.raises(Exception, match="length of 9"):
        _encode(tokenizer, [user, *_call("bad")])


def test_realtime_flavour_has_streaming_tokens(tmp_path: Path) -> None:
    tokenizer = MistralTokenizer.from_file(str(write_tiny_tekken(tmp_path, realtime=True)))
    inner = tokenizer.instruct_tokenizer.tokenizer
    assert inner.get_special_token("[STREAMING_PAD]") == 32
    audio = inner.audio
    assert audio is not None and audio.transcription_delay_ms == 480


def test_config_is_a_fresh_copy() -> None:
    first = tiny_tekken_config()
    first["config"]["version"] = "broken"
    assert tiny_tekken_config()["config"]["version"] == "v7"
    assert len(first["vocab"]) == 130_072


def test_model_dir_has_both_files(tmp_path: Path) -> None:
    model = write_tiny_voxtral(tmp_path / "m", realtime=True)
    params = json.loads((model / "params.json").read_text())
    assert params == tiny_voxtral_params(realtime=True)
    assert params["multimodal"]["whisper_model_args"]["encoder_args"]["causal"] is True
    assert json.loads((model / "tekken.json").read_text())["audio"]["transcription_format"] == (
        "streaming"
    )
