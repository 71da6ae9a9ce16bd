"""Rendering: every request passes mistral_common's validation as vLLM applies it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from voxagent.audio.clip import AudioClip
from voxagent.client.dialects import MISTRAL, VLLM
from voxagent.client.types import ToolCall
from voxagent.conversation import (
    EMPTY_RESULT_TEXT,
    MISSING_RESULT_TEXT,
    Conversation,
)
from voxagent.errors import ConversationError

Encode = Callable[..., int]


def roles(messages: list[dict[str, Any]]) -> list[str]:
    return [m["role"] for m in messages]


def test_text_only_history_sends_instructions_as_system(encode: Encode) -> None:
    conv = Conversation("You control the lights.")
    conv.add_user(text="hello")
    messages = conv.render(VLLM)
    assert messages == [
        {"role": "system", "content": "You control the lights."},
        {"role": "user", "content": "hello"},
    ]
    assert encode(messages) > 0


def test_with_audio_instructions_become_the_first_user_chunk(
    encode: Encode, clip: Callable[..., AudioClip]
) -> None:
    conv = Conversation("You control the lights.")
    conv.add_user(text="hi")
    conv.add_assistant("hello")
    audio = clip(2.0)
    conv.add_user(audio=audio, text="(spoken)")
    messages = conv.render(VLLM)
    assert roles(messages) == ["user", "assistant", "user"]
    assert messages[0]["content"] == [
        {"type": "text", "text": "You control the lights."},
        {"type": "text", "text": "hi"},
    ]
    assert messages[2]["content"] == [VLLM.audio_part(audio), {"type": "text", "text": "(spoken)"}]
    encode(messages)
    # The naive shape really is rejected, so the check above can fail.
    naive = [{"role": "system", "content": "You control the lights."}, *messages]
    with pytest.raises(ValueError, match="system"):
        encode(naive)


def test_audio_parts_come_from_the_dialect(clip: Callable[..., AudioClip]) -> None:
    conv = Conversation()
    audio = clip(1.0)
    conv.add_user(audio=audio)
    (message,) = conv.render(MISTRAL)
    assert message["content"] == [{"type": "input_audio", "input_audio": audio.to_base64()}]


def test_unanswered_calls_before_a_new_turn_render_as_missing(
    encode: Encode, tools: list[dict[str, Any]]
) -> None:
    conv = Conversation()
    conv.add_user(text="lights on")
    turn = conv.add_assistant(
        None,
        [
            ToolCall("call_1", "set_light", '{"room": "kitchen"}'),
            ToolCall("call_2", "set_light", '{"room": "bedroom"}'),
        ],
    )
    conv.add_tool_result("call_1", "set_light", "on")
    conv.add_user(text="never mind")
    messages = conv.render(VLLM, tools=tools)
    assert roles(messages) == ["user", "assistant", "tool", "tool", "user"]
    assert [m["tool_call_id"] for m in messages[2:4]] == [c.id for c in turn.tool_calls]
    assert messages[3]["content"] == MISSING_RESULT_TEXT
    encode(messages, tools)


def test_late_results_are_placed_after_their_call(encode: Encode) -> None:
    conv = Conversation()
    conv.add_user(text="a")
    conv.add_assistant(None, [ToolCall("abcDEF123", "f", "{}")])
    conv.add_user(text="b")
    conv.add_tool_result("abcDEF123", "f", "late")
    messages = conv.render(VLLM)
    assert roles(messages) == ["user", "assistant", "tool", "user"]
    assert messages[2]["content"] == "late"
    encode(messages)


def test_empty_assistant_turns_are_skipped(encode: Encode) -> None:
    conv = Conversation()
    conv.add_user(text="a")
    conv.add_assistant(None)
    conv.add_assistant("")
    conv.add_user(text="b")
    messages = conv.render(VLLM)
    assert roles(messages) == ["user", "user"]
    encode(messages)


def test_ending_on_an_assistant_answer_is_an_error() -> None:
    conv = Conversation()
    conv.add_user(text="a")
    conv.add_assistant("done")
    with pytest.raises(ConversationError, match="Nothing to answer") as caught:
        conv.render(VLLM)
    assert caught.value.hint


def test_no_user_turn_is_an_error() -> None:
    with pytest.raises(ConversationError, match="no user turn"):
        Conversation("x").render(VLLM)


def test_odd_names_arguments_and_contents_render_validly(encode: Encode) -> None:
    conv = Conversation()
    conv.add_user(text="a")
    turn = conv.add_assistant(
        "Let me see.",
        [
            ToolCall("abcDEF123", "weird name.v2", "{not json"),
            ToolCall("abcDEF124", "", ""),
            ToolCall("abcDEF125", "f", '{"x": 1}'),
        ],
    )
    conv.add_tool_result("abcDEF123", "weird name.v2", "")
    conv.add_tool_result("abcDEF124", "", "boom", is_error=True)
    conv.add_tool_result("abcDEF125", "f", "Error: already failed", is_error=True)
    messages = conv.render(VLLM)
    calls = messages[1]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["weird_name_v2", "unknown_tool", "f"]
    assert calls[1]["function"]["arguments"] == "{}"
    assert [m["content"] for m in messages[2:]] == [
        EMPTY_RESULT_TEXT,
        "Error: boom",
        "Error: already failed",
    ]
    assert turn.tool_calls[0].name == "weird name.v2"  # the stored call keeps the model's name
    encode(messages)


def test_assistant_turns_before_the_first_user_turn(
    encode: Encode, clip: Callable[..., AudioClip]
) -> None:
    conv = Conversation("Greet first.")
    conv.add_assistant("Hello! How can I help?")
    conv.add_user(text="lights")
    messages = conv.render(VLLM)
    assert roles(messages) == ["system", "assistant", "user"]
    encode(messages)
    conv.add_assistant("Which room?")
    conv.add_user(audio=clip(1.0))
    # With audio there is no system message, and a reply cannot open the request.
    messages = conv.render(VLLM)
    assert roles(messages) == ["user", "assistant", "user"]
    encode(messages)


def test_rendering_after_close_pending_ends_on_tool_results(encode: Encode) -> None:
    conv = Conversation()
    conv.add_user(text="a")
    conv.add_assistant(None, [ToolCall("abcDEF123", "f", "{}")])
    conv.close_pending()
    messages = conv.render(VLLM)
    assert roles(messages) == ["user", "assistant", "tool"]
    assert messages[-1]["content"] == "Error: Cancelled before it finished."
    encode(messages)
