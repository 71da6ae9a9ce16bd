"""Fixtures: the tiny Voxtral tokenizer (validates requests the way vLLM does) and WAV clips."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

from voxagent.audio.clip import AudioClip
from voxagent.conversation import TokenCounter, tekken_counter
from voxagent.testing.tekken import write_tiny_tekken

Encode = Callable[..., int]

TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "set_light",
            "description": "Switch a light on or off.",
            "parameters": {
                "type": "object",
                "properties": {
                    "room": {"type": "string", "enum": ["kitchen", "bedroom"]},
                    "on": {"type": "boolean"},
                },
                "required": ["room", "on"],
            },
        },
    }
]


@pytest.fixture
def tools() -> list[dict[str, Any]]:
    return TOOLS


@pytest.fixture(scope="session")
def tekken_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_tekken(tmp_path_factory.mktemp("tekken"))


@pytest.fixture(scope="session")
def tokenizer(tekken_file: Path) -> MistralTokenizer:
    # Default validation mode is "test", the one vLLM uses.
    return MistralTokenizer.from_file(tekken_file)


@pytest.fixture(scope="session")
def counter(tekken_file: Path) -> TokenCounter:
    return tekken_counter(tekken_file)


@pytest.fixture(scope="session")
def encode(tokenizer: MistralTokenizer) -> Encode:
    """Validate and tokenize messages exactly as vLLM does; return the prompt's token count."""

    def run(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
        request = ChatCompletionRequest.from_openai(messages, tools=tools)
        return len(tokenizer.encode_chat_completion(request).tokens)

    return run


@functools.cache
def _wav_bytes(seconds: float, seed: int) -> bytes:
    samples = np.random.default_rng(seed).uniform(-0.2, 0.2, int(16000 * seconds))
    buffer = io.BytesIO()
    sf.write(buffer, samples.astype(np.float32), 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def wav(seconds: float, seed: int = 0) -> AudioClip:
    """A real 16 kHz mono WAV clip of noise (the tokenizer decodes it to count tokens)."""
    return AudioClip(data=_wav_bytes(seconds, seed), format="wav", duration_s=seconds)


@pytest.fixture
def clip() -> Callable[..., AudioClip]:
    return wav
