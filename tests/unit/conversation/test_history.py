"""Adding turns: validation, tool-call id repair, results, pending calls, transcripts."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from voxagent.audio.clip import AudioClip
from voxagent.client.types import ToolCall
from voxagent.conversation import (
    AssistantTurn,
    Conversation,
    ToolResultTurn,
    UserTurn,
    is_valid_call_id,
)
from voxagent.errors import ConversationError


def ticking() -> Callable[[], float]:
    counter = itertools.count(100)
    return lambda: float(next(counter))


def test_turns_carry_clock_timestamps_in_order() -> None:
    conv = Conversation("be brief", clock=ticking())
    user = conv.add_user(text="hi")
    assistant = conv.add_assistant("hello")
    assert (user.created_at, assistant.created_at) == (100.0, 101.0)
    assert conv.turns == (user, assistant)
    assert isinstance(conv.turns[0], UserTurn) and isinstance(conv.turns[1], AssistantTurn)


def test_user_turn_needs_text_or_audio() -> None:
    conv = Conversation()
    with pytest.raises(ConversationError) as caught:
        conv.add_user()
    assert caught.value.hint
    with pytest.raises(ConversationError):
        conv.add_user(text="")


def test_empty_audio_is_refused(clip: Callable[..., AudioClip]) -> None:
    conv = Conversation()
    with pytest.raises(ConversationError):
        conv.add_user(audio=AudioClip(data=b"", format="wav", duration_s=1.0))
    with pytest.raises(ConversationError):
        conv.add_user(audio=AudioClip(data=b"RIFF", format="wav", duration_s=0.0))
    assert conv.add_user(audio=clip(1.0)).audio is not None


def test_valid_server_ids_are_kept_and_bad_ones_replaced() -> None:
    conv = Conversation()
    conv.add_user(text="lights")
    calls = [
        ToolCall("abcDEF123", "set_light", "{}"),
        ToolCall("call_abc123xyz", "set_light", "{}"),
        ToolCall("short", "set_light", "{}"),
        ToolCall("abcDEF123", "set_light", "{}"),  # duplicate inside one message
    ]
    turn = conv.add_assistant(None, calls)
    ids = [call.id for call in turn.tool_calls]
    assert ids[0] == "abcDEF123"
    assert all(is_valid_call_id(i) for i in ids)
    assert len(set(ids)) == 4
    assert turn.id_map["abcDEF123"] == "abcDEF123"
    assert turn.id_map["call_abc123xyz"] == ids[1]
    assert turn.id_map["short"] == ids[2]
    assert [c.name for c in turn.tool_calls] == ["set_light"] * 4


def test_ids_are_unique_across_the_conversation() -> None:
    conv = Conversation()
    conv.add_user(text="a")
    first = conv.add_assistant(None, [ToolCall("abcDEF123", "f", "{}")])
    conv.add_tool_result("abcDEF123", "f", "ok")
    second = conv.add_assistant(None, [ToolCall("abcDEF123", "f", "{}")])
    assert first.tool_calls[0].id == "abcDEF123"
    assert second.tool_calls[0].id != "abcDEF123"
    # The server's id now refers to the newest, unanswered call.
    result = conv.add_tool_result("abcDEF123", "f", "ok again")
    assert result.call_id == second.tool_calls[0].id


def test_results_accept_server_or_stored_ids() -> None:
    conv = Conversation()
    conv.add_user(text="a")
    turn = conv.add_assistant(None, [ToolCall("call-1", "f", "{}"), ToolCall("call-2", "g", "{}")])
    by_server = conv.add_tool_result("call-1", "f", "one")
    by_stored = conv.add_tool_result(turn.tool_calls[1].id, "g", "two", is_error=True)
    assert isinstance(by_server, ToolResultTurn)
    assert by_server.call_id == turn.tool_calls[0].id
    assert by_stored.call_id == turn.tool_calls[1].id and by_stored.is_error


def test_unknown_and_duplicate_results_are_errors() -> None:
    conv = Conversation()
    conv.add_user(text="a")
    conv.add_assistant(None, [ToolCall("abcDEF123", "f", "{}")])
    with pytest.raises(ConversationError, match="No tool call"):
        conv.add_tool_result("zzzzzzzzz", "f", "x")
    conv.add_tool_result("abcDEF123", "f", "x")
    with pytest.raises(ConversationError, match="already has a result"):
        conv.add_tool_result("abcDEF123", "f", "x")


def test_pending_and_close_pending() -> None:
    conv = Conversation()
    conv.add_user(text="a")
    assert conv.pending_tool_calls() == []
    turn = conv.add_assistant(
        "working", [ToolCall("aaaaaaaa1", "f", "{}"), ToolCall("aaaaaaaa2", "g", "{}")]
    )
    conv.add_tool_result("aaaaaaaa1", "f", "done")
    assert conv.pending_tool_calls() == [turn.tool_calls[1]]
    closed = conv.close_pending()
    assert closed == [turn.tool_calls[1]]
    assert conv.pending_tool_calls() == []
    last = conv.turns[-1]
    assert isinstance(last, ToolResultTurn)
    assert last.is_error and last.call_id == "aaaaaaaa2" and "Cancelled" in last.content
    assert conv.close_pending() == []


def test_set_transcript_replaces_the_turn_and_accepts_stale_references(
    clip: Callable[..., AudioClip],
) -> None:
    conv = Conversation()
    turn = conv.add_user(audio=clip(1.0))
    conv.add_assistant("ok")
    conv.set_transcript(turn, "switch on the light")
    conv.set_transcript(turn, "switch on the kitchen light")  # the old object still works
    stored = conv.turns[0]
    assert isinstance(stored, UserTurn)
    assert stored.transcript == "switch on the kitchen light"
    assert stored.audio == turn.audio
    with pytest.raises(ConversationError):
        Conversation().set_transcript(turn, "x")


def test_withdraw_takes_back_a_turn_and_its_rounds_as_if_never_added(
    clip: Callable[..., AudioClip], encode: Callable[..., int]
) -> None:
    from voxagent.client.dialects import VLLM
    from voxagent.conversation import Budget

    budget = Budget(max_audio_items=2)
    conv = Conversation("be brief")
    for seed in range(3):  # three spoken turns: compaction has settled the oldest
        conv.add_user(audio=clip(1.0, seed), transcript=f"turn {seed}")
        conv.add_assistant(f"answer {seed}")
    after = clip(1.0, 11)  # what the user says next
    before = conv.render_next(VLLM, audio=after, budget=budget)
    kept = conv.turns
    # A turn with a tool round, taken back: the user went on speaking.
    taken = conv.add_user(audio=clip(1.0, 9))
    conv.add_assistant(None, [ToolCall(id="abcdefghi", name="look", arguments="{}")])
    conv.add_tool_result("abcdefghi", "look", "nothing")
    conv.render(VLLM, budget=budget)
    conv.withdraw(taken)
    assert conv.turns == kept
    assert conv.pending_tool_calls() == []
    # The next request is what it would have been: same prefix, valid for mistral_common.
    assert conv.render_next(VLLM, audio=after, budget=budget) == before
    encode(before)
    # The taken-back call id is free again, and a new turn goes on normally.
    conv.add_user(audio=clip(1.0, 10))
    [call] = conv.add_assistant(
        None, [ToolCall(id="abcdefghi", name="look", arguments="{}")]
    ).tool_calls
    assert call.id == "abcdefghi"
    conv.add_tool_result(call.id, "look", "on")
    encode(conv.render(VLLM, budget=budget))


def test_withdraw_refuses_a_turn_it_does_not_hold() -> None:
    conv = Conversation()
    stranger = Conversation().add_user(text="hi")
    conv.add_user(text="hi")
    with pytest.raises(ConversationError, match="not part of this conversation") as caught:
        conv.withdraw(stranger)
    assert caught.value.hint
    assert len(conv.turns) == 1
