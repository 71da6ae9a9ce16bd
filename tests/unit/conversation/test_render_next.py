"""`render_next`: the request a speculative reply sends is the one the confirmed turn sends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from voxagent.audio.clip import AudioClip
from voxagent.client.dialects import VLLM
from voxagent.client.types import ToolCall
from voxagent.conversation import Budget, Conversation
from voxagent.errors import ConversationError


@pytest.mark.parametrize("turns", [0, 1, 4, 5, 6, 9, 12])
def test_it_is_what_render_gives_after_add_user_and_changes_nothing(
    clip: Callable[..., AudioClip], turns: int
) -> None:
    budget = Budget(max_audio_items=5)  # compaction starts past 5 clips
    conv = Conversation("You control the lights.")
    for n in range(turns):
        conv.add_user(audio=clip(1.0, seed=n))
        conv.render(VLLM, budget=budget)  # the turn's own request (it moves the compaction floor)
        answer = conv.add_assistant(None, [ToolCall(id="", name="note", arguments="{}")])
        conv.add_tool_result(answer.tool_calls[0].id, "note", "ok")
        conv.add_assistant(f"done {n}")
        conv.render_next(VLLM, text="ignored", budget=budget)  # a speculation that was dropped
    before = conv.to_dict()
    nxt = clip(1.0, seed=99)
    speculative = conv.render_next(VLLM, audio=nxt, budget=budget)
    assert conv.to_dict() == before  # nothing was added or moved
    conv.add_user(audio=nxt)
    assert conv.render(VLLM, budget=budget) == speculative


def test_it_needs_something_to_send() -> None:
    with pytest.raises(ConversationError, match="needs text or audio"):
        Conversation().render_next(VLLM)
