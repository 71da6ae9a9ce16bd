"""The audio/token budget: costs, compaction order, dropping, and the context-length error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from voxagent.audio.clip import AudioClip
from voxagent.client.dialects import VLLM
from voxagent.client.types import ToolCall
from voxagent.conversation import (
    UNTRANSCRIBED_TEXT,
    Budget,
    Conversation,
    TokenCounter,
    audio_tokens,
    estimate_tokens,
    tekken_counter,
)
from voxagent.errors import ConfigurationError, ContextLengthError

Encode = Callable[..., int]
Clip = Callable[..., AudioClip]


def audio_count(messages: list[dict[str, Any]]) -> int:
    return sum(
        1
        for m in messages
        if isinstance(m.get("content"), list)
        for part in m["content"]
        if part["type"] == "input_audio"
    )


def texts(messages: list[dict[str, Any]]) -> list[str]:
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out += [p["text"] for p in content if p["type"] == "text"]
    return out


@pytest.mark.parametrize(
    ("seconds", "tokens"),
    [(0.1, 376), (2.0, 376), (10.0, 376), (30.0, 376), (30.5, 751), (65.0, 1126)],
)
def test_audio_costs_one_plus_375_per_started_30_s(seconds: float, tokens: int) -> None:
    assert audio_tokens(seconds) == tokens


def test_audio_cost_matches_the_tokenizer(encode: Encode, clip: Clip) -> None:
    for seconds in (2.0, 31.0):
        messages = [{"role": "user", "content": [VLLM.audio_part(clip(seconds))]}]
        # BOS, [INST] and [/INST] around the audio.
        assert encode(messages) == 3 + audio_tokens(seconds)


def test_estimate_is_stated_and_close_on_prose(counter: TokenCounter) -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("2026") == 4
    prose = [
        "Switch on the kitchen light please, and set brightness to 40 percent.",
        "Bonjour, peux-tu allumer la lumière de la cuisine ?",
        '{"room": "kitchen", "on": true, "brightness": 100}',
    ]
    for text in prose:
        exact = counter(text)
        assert exact <= estimate_tokens(text) <= 1.5 * exact + 2


def test_tekken_counter_errors_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "tekken.json"
    bad.write_text("{}")
    with pytest.raises(ConfigurationError) as caught:
        tekken_counter(bad)
    assert caught.value.hint


def test_budget_validates_its_limits() -> None:
    with pytest.raises(ConfigurationError):
        Budget(max_audio_items=0)
    with pytest.raises(ConfigurationError):
        Budget(reserve_tokens=-1)


def spoken_conversation(clip: Clip, turns: int, *, transcribe: bool) -> Conversation:
    conv = Conversation("You control the lights.")
    for i in range(turns):
        conv.add_user(audio=clip(2.0, i), transcript=f"request {i}" if transcribe else None)
        conv.add_assistant(f"answer {i}")
    conv.add_user(audio=clip(2.0, turns))
    return conv


def test_at_most_max_audio_items_and_older_audio_becomes_transcripts(
    encode: Encode, clip: Clip
) -> None:
    conv = spoken_conversation(clip, 6, transcribe=True)
    messages = conv.render(VLLM, budget=Budget(compaction_step=1))  # one clip at a time
    assert audio_count(messages) == 5
    assert "system" not in [m["role"] for m in messages]
    assert texts(messages)[:3] == [
        "You control the lights.",
        "[voice message] request 0",
        "answer 0",
    ]
    assert "[voice message] request 1" in texts(messages)
    assert "[voice message] request 2" not in texts(messages)  # still audio
    encode(messages)
    assert audio_count(conv.render(VLLM, budget=Budget(max_audio_items=2))) == 2


def test_untranscribed_audio_becomes_a_placeholder(encode: Encode, clip: Clip) -> None:
    conv = spoken_conversation(clip, 2, transcribe=False)
    messages = conv.render(VLLM, budget=Budget(max_audio_items=1))
    assert audio_count(messages) == 1
    assert texts(messages).count(UNTRANSCRIBED_TEXT) == 2
    encode(messages)


def test_token_budget_compacts_oldest_audio_first(
    encode: Encode, clip: Clip, counter: TokenCounter
) -> None:
    conv = spoken_conversation(clip, 3, transcribe=True)
    budget = Budget(max_tokens=1400, reserve_tokens=200, counter=counter, compaction_margin=0)
    messages = conv.render(VLLM, budget=budget)
    assert audio_count(messages) == 3  # 4 x 376 does not fit in 1200
    assert "[voice message] request 0" in texts(messages)
    assert encode(messages) <= 1200


def test_then_oldest_turns_are_dropped_whole(
    encode: Encode, clip: Clip, counter: TokenCounter, tools: list[dict[str, Any]]
) -> None:
    conv = Conversation("Be brief.")
    for i in range(6):
        conv.add_user(text=f"turn {i}: " + "please remember this detail " * 20)
        calls = conv.add_assistant(None, [ToolCall(f"callid00{i}", "set_light", '{"on": true}')])
        conv.add_tool_result(calls.tool_calls[0].id, "set_light", "on " * 30)
        conv.add_assistant(f"done {i}")
    conv.add_user(audio=clip(2.0))
    budget = Budget(max_tokens=1500, reserve_tokens=300, counter=counter)
    messages = conv.render(VLLM, budget=budget, tools=tools)
    assert messages[0]["role"] == "user"
    kept = [m["tool_call_id"] for m in messages if m["role"] == "tool"]
    calls = [c["id"] for m in messages if m.get("tool_calls") for c in m["tool_calls"]]
    assert kept == calls and 0 < len(calls) < 6
    assert "callid005" in calls and "callid000" not in calls
    assert encode(messages, tools) <= 1200


def test_newest_turn_too_long_gives_a_clear_error(clip: Clip) -> None:
    conv = Conversation()
    conv.add_user(text="hi")
    conv.add_assistant("hello")
    conv.add_user(audio=AudioClip(data=b"x", format="wav", duration_s=65.0))
    with pytest.raises(ContextLengthError) as caught:
        conv.render(VLLM, budget=Budget(max_tokens=1500, reserve_tokens=500))
    message = str(caught.value)
    assert "65 s of audio = 1126 tokens" in message
    assert "max_model_len 1500" in message
    assert caught.value.hint and "--max-model-len" in caught.value.hint


def test_audio_to_transcribe_looks_ahead(clip: Clip) -> None:
    conv = spoken_conversation(clip, 4, transcribe=False)  # 5 audio turns: all fit today
    budget = Budget(max_audio_items=5)
    assert audio_count(conv.render(VLLM, budget=budget)) == 5
    wanted = conv.audio_to_transcribe(budget)
    users = [t for t in conv.turns if hasattr(t, "audio")]
    # The next audio turn (the 6th) compacts a step of three at once: those three are wanted.
    assert wanted == users[:3]
    conv.set_transcript(wanted[0], "first")
    assert conv.audio_to_transcribe(budget) == users[1:3]
    messages = conv.render(VLLM, budget=Budget(max_audio_items=3))
    assert "[voice message] first" in texts(messages)
    assert UNTRANSCRIBED_TEXT in texts(messages)
