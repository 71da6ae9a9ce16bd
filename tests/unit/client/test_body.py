"""The chat body encoder: byte-identical to json.dumps, audio spliced, nothing mutated."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
from hypothesis import given, settings, strategies as st

from voxagent.audio import encode_wav
from voxagent.audio.clip import AudioClip, Base64Text
from voxagent.client.body import encode_body
from voxagent.client.dialects import MISTRAL, VLLM


def _clip(seconds: float, seed: int = 0) -> AudioClip:
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(int(16000 * seconds)) * 0.1).astype(np.float32)
    return AudioClip(encode_wav(samples, 16000), "wav", seconds)


def _reference(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _body(*parts: dict[str, Any], text: str = "hello") -> dict[str, Any]:
    return {
        "model": "voxtral",
        "messages": [
            {"role": "system", "content": "You control the lights."},
            {"role": "user", "content": [{"type": "text", "text": text}, *parts]},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [parts[0]] if parts else "again"},
        ],
        "temperature": 0.2,
    }


def test_a_vllm_body_with_audio_is_byte_identical_to_json_dumps() -> None:
    clip, other = _clip(1.0), _clip(0.5, seed=1)
    body = _body(VLLM.audio_part(clip), VLLM.audio_part(other))
    assert encode_body(body) == _reference(body)
    assert clip.to_base64().encode() in encode_body(body)


def test_a_mistral_body_with_audio_is_byte_identical_to_json_dumps() -> None:
    body = _body(MISTRAL.audio_part(_clip(1.0)))
    assert encode_body(body) == _reference(body)


def test_the_body_is_not_modified() -> None:
    body = _body(VLLM.audio_part(_clip(1.0)))
    before = copy.deepcopy(body)
    encode_body(body)
    assert body == before
    assert isinstance(body["messages"][1]["content"][1]["input_audio"]["data"], Base64Text)


def test_text_that_looks_like_a_placeholder_is_left_alone() -> None:
    # The placeholder carries a random nonce: user text cannot forge one.
    text = '"voxagent-audio-0000000000000000-0" and "quotes", \\ and \u00e9 and \n'
    body = _body(VLLM.audio_part(_clip(1.0)), text=text)
    assert encode_body(body) == _reference(body)
    assert json.loads(encode_body(body))["messages"][1]["content"][0]["text"] == text


def test_a_plain_string_is_encoded_normally_even_when_long() -> None:
    # Only text AudioClip marked as base64 skips the encoder; anything else is escaped as usual.
    sneaky = 'A"' * 5000
    body = _body({"type": "input_audio", "input_audio": {"data": sneaky, "format": "wav"}})
    assert encode_body(body) == _reference(body)
    assert json.loads(encode_body(body))["messages"][1]["content"][1]["input_audio"]["data"] == (
        sneaky
    )


def test_the_clip_is_encoded_once() -> None:
    clip = _clip(1.0)
    assert clip.to_base64() is clip.to_base64()
    assert clip == AudioClip(clip.data, clip.format, clip.duration_s)  # the cache is not state


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(extra=st.dictionaries(st.text(), json_values, max_size=4), text=st.text())
def test_any_body_round_trips_like_json_dumps(extra: dict[str, Any], text: str) -> None:
    body = {**extra, **_body(VLLM.audio_part(_clip(0.3)), text=text)}
    assert encode_body(body) == _reference(body)
