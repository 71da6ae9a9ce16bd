"""Checking chat requests the way a vLLM server serving Voxtral does, without vLLM.

vLLM (tokenizer mode "mistral") truncates long tool-call ids to their last 9 characters, builds a
mistral_common `ChatCompletionRequest` from the OpenAI messages, and encodes it with the model's
Tekken tokenizer in the "test" validator mode; any exception becomes HTTP 400. It also enforces
the per-prompt audio limit and max_model_len. `VllmValidator` repeats those steps with a tiny
Voxtral Tekken file (real vocabulary, audio section), so a request it accepts is one vLLM accepts.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.protocol.instruct.validator import ValidationMode
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

__all__ = ["InvalidRequest", "VllmValidator", "count_audio"]

_AUDIO_TYPES = frozenset({"input_audio", "audio_url"})


class InvalidRequest(Exception):
    """A request vLLM would refuse; `status` and `message` are what it would answer."""

    def __init__(self, message: str, *, status: int = 400, kind: str = "BadRequestError") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.kind = kind


@functools.cache
def _tokenizer(path: str | None) -> MistralTokenizer[Any, Any, Any, Any, Any]:
    if path is None:
        from voxagent.testing.tekken import write_tiny_tekken

        directory = Path(tempfile.mkdtemp(prefix="voxagent-tekken-"))
        path = str(write_tiny_tekken(directory))
    return MistralTokenizer.from_file(path, mode=ValidationMode.test)


def count_audio(messages: list[Any]) -> int:
    """Count the audio content parts in OpenAI-style messages."""
    total = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            total += sum(
                1 for part in content if isinstance(part, dict) and part.get("type") in _AUDIO_TYPES
            )
    return total


class VllmValidator:
    """Validates chat request bodies as vLLM serving Voxtral does.

    Args:
        max_model_len: The context length in tokens.
        max_audio: The most audio items one request may carry (vLLM's default for Voxtral: 5).
        tekken_path: A Tekken file with an audio section; None writes the tiny Voxtral one once per
            process. Loading takes about a second, so call `check` from a worker thread.
    """

    def __init__(
        self, *, max_model_len: int, max_audio: int, tekken_path: str | Path | None = None
    ):
        self.max_model_len = max_model_len
        self.max_audio = max_audio
        self._path = None if tekken_path is None else str(tekken_path)

    def warm_up(self) -> None:
        """Load the tokenizer now (blocking)."""
        _tokenizer(self._path)

    def check(self, body: dict[str, Any]) -> int:
        """Validate one chat request body (blocking, CPU-bound).

        Returns:
            The prompt's token count.

        Raises:
            InvalidRequest: with the status and message vLLM would answer.
        """
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InvalidRequest("'messages' must be a non-empty list")
        tools = body.get("tools")
        if tools is not None and not isinstance(tools, list):
            raise InvalidRequest("'tools' must be a list")
        audio = count_audio(messages)
        if audio > self.max_audio:
            raise InvalidRequest(
                f"At most {self.max_audio} audio(s) may be provided in one prompt."
            )
        self._check_tool_choice(body.get("tool_choice"), tools or [])
        messages = _truncate_tool_call_ids(messages)
        try:
            request: ChatCompletionRequest[Any] = ChatCompletionRequest.from_openai(
                messages, tools=tools or None
            )
            tokens = len(_tokenizer(self._path).encode_chat_completion(request).tokens)
        except Exception as exc:
            raise InvalidRequest(str(exc) or type(exc).__name__) from exc
        if tokens > self.max_model_len:
            raise InvalidRequest(
                f"This model's maximum context length is {self.max_model_len} tokens. However, "
                f"your request has {tokens} input tokens. Please reduce the length of the input "
                "messages."
            )
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if isinstance(max_tokens, int) and tokens + max_tokens > self.max_model_len:
            raise InvalidRequest(
                f"'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This "
                f"model's maximum context length is {self.max_model_len} tokens and your request "
                f"has {tokens} input tokens ({max_tokens} > {self.max_model_len} - {tokens})."
            )
        return tokens

    @staticmethod
    def _check_tool_choice(choice: Any, tools: list[Any]) -> None:
        if choice is None or choice in ("auto", "none"):
            return
        if choice == "required":
            if not tools:
                raise InvalidRequest("When using `tool_choice`, `tools` must be set.")
            return
        if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            name = choice["function"].get("name")
            names = {t.get("function", {}).get("name") for t in tools if isinstance(t, dict)}
            if name not in names:
                raise InvalidRequest(f"Tool '{name}' has not been passed in `tools`.")
            return
        raise InvalidRequest(f"Invalid value for `tool_choice`: {choice!r}")


def _truncate_tool_call_ids(messages: list[Any]) -> list[Any]:
    # vLLM keeps the last 9 characters of a longer id before validation (see the protocol notes).
    fixed = []
    for message in messages:
        if not isinstance(message, dict):
            fixed.append(message)
            continue
        message = dict(message)
        if isinstance(message.get("tool_calls"), list):
            calls = []
            for call in message["tool_calls"]:
                if (
                    isinstance(call, dict)
                    and isinstance(call.get("id"), str)
                    and len(call["id"]) > 9
                ):
                    call = {**call, "id": call["id"][-9:]}
                calls.append(call)
            message["tool_calls"] = calls
        call_id = message.get("tool_call_id")
        if isinstance(call_id, str) and len(call_id) > 9:
            message["tool_call_id"] = call_id[-9:]
        fixed.append(message)
    return fixed
