"""Prefix stability (what a server's prefix cache reuses) and the session key.

Each request of a spoken conversation should be the previous request plus the new turns, token
for token as vLLM's tokenizer (mistral_common) renders them, except when compaction has to change
history; compaction then comes in steps, so it is rare.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

from voxagent.audio.clip import AudioClip
from voxagent.client.dialects import VLLM
from voxagent.conversation import Budget, Conversation
from voxagent.errors import ConfigurationError, ConversationError

Clip = Callable[..., AudioClip]


def tokens(
    tokenizer: MistralTokenizer, messages: list[dict[str, Any]], tools: Any = None
) -> list[int]:
    request = ChatCompletionRequest.from_openai(messages, tools=tools)
    return list(tokenizer.encode_chat_completion(request).tokens)


def shared(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def spoken_requests(
    clip: Clip, tokenizer: MistralTokenizer, turns: int, budget: Budget, tools: Any = None
) -> list[list[int]]:
    """The token lists of each turn's request in a spoken conversation of `turns` turns."""
    conv = Conversation("You control the lights.")
    requests = []
    for i in range(turns):
        conv.add_user(audio=clip(2.0, i), transcript=f"request {i}")
        requests.append(tokens(tokenizer, conv.render(VLLM, budget=budget, tools=tools), tools))
        conv.add_assistant(f"answer {i}")
    return requests


def test_requests_extend_each_other_and_compaction_comes_in_steps(
    clip: Clip, tokenizer: MistralTokenizer
) -> None:
    requests = spoken_requests(clip, tokenizer, 10, Budget(max_audio_items=5))
    extends = [shared(a, b) == len(a) for a, b in itertools.pairwise(requests)]
    # Turns 2-5 extend the previous request; the 6th audio turn compacts three clips at once,
    # then turns 7 and 8 extend again; the 9th compacts the next step; the 10th extends.
    assert extends == [True, True, True, True, False, True, True, False, True]


def test_one_clip_at_a_time_breaks_the_prefix_on_every_turn_past_the_limit(
    clip: Clip, tokenizer: MistralTokenizer
) -> None:
    # The old behaviour, kept as an option: every turn past the limit changes history.
    requests = spoken_requests(clip, tokenizer, 8, Budget(max_audio_items=5, compaction_step=1))
    extends = [shared(a, b) == len(a) for a, b in itertools.pairwise(requests)]
    assert extends == [True, True, True, True, False, False, False]


def test_token_compaction_frees_a_margin_and_then_holds(
    clip: Clip, tokenizer: MistralTokenizer, counter: Any
) -> None:
    def breaks(margin: float) -> list[int]:
        budget = Budget(
            max_audio_items=50,
            max_tokens=3000,
            reserve_tokens=200,
            counter=counter,
            compaction_margin=margin,
        )
        requests = spoken_requests(clip, tokenizer, 12, budget)
        assert all(len(r) <= 2800 for r in requests)
        pairs = itertools.pairwise(requests)
        return [i for i, (a, b) in enumerate(pairs) if shared(a, b) < len(a)]

    # 7 clips reach the limit; freeing a quarter of the room more leaves space for two turns.
    assert breaks(0.25) == [6, 9]
    assert breaks(0.0) == [6, 7, 8, 9, 10]  # only what the limit requires: every turn


def test_tools_move_before_the_last_user_message_with_tokenizer_v7(
    clip: Clip, tokenizer: MistralTokenizer, tools: list[dict[str, Any]]
) -> None:
    # Voxtral 2507's tokenizer (v7) places [AVAILABLE_TOOLS] before the LAST user message, so
    # a new user turn can reuse only what came before the previous user message. Measured here
    # so that docs/deploy.md's claim stays true.
    requests = spoken_requests(clip, tokenizer, 3, Budget(), tools=tools)
    first, second = requests[0], requests[1]
    assert shared(first, second) < len(first)
    without = spoken_requests(clip, tokenizer, 3, Budget())
    assert shared(without[0], without[1]) == len(without[0])


def test_the_session_key_is_stable_saved_and_checked(tmp_path: Path, clip: Clip) -> None:
    conv = Conversation("hi")
    other = Conversation("hi")
    assert conv.session_key != other.session_key and len(conv.session_key) >= 16
    for i in range(7):
        conv.add_user(audio=clip(1.0, i))
        conv.render(VLLM)
        conv.add_assistant("ok")
    conv.add_user(text="and now?")
    path = tmp_path / "c.json"
    conv.save(path)
    loaded = Conversation.load(path)
    assert loaded.session_key == conv.session_key
    # What was compacted stays compacted after a reload: the next request is the same bytes.
    assert loaded.render(VLLM) == conv.render(VLLM)
    data = json.loads(path.read_text())
    for bad in ("", "a b", "x\r\nX-Evil: 1", 7, "é" * 3):
        with pytest.raises(ConversationError):
            Conversation.from_dict({**data, "session_key": bad})
    for bad_floor in ([1], [-1, 0], "0,0", [0, 1 << 40]):
        with pytest.raises(ConversationError):
            Conversation.from_dict({**data, "compacted": bad_floor})
    del data["session_key"], data["compacted"]  # a file from before session keys
    old = Conversation.from_dict(data)
    assert old.session_key and old.session_key != conv.session_key
    with pytest.raises(ConversationError):
        Conversation(session_key="bad key")
    assert Conversation(session_key="call-42:user.7").session_key == "call-42:user.7"
    with pytest.raises(ConfigurationError):
        Budget(compaction_step=0)
    with pytest.raises(ConfigurationError):
        Budget(compaction_margin=1.0)
