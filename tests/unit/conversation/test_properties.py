"""Random operation sequences: every render encodes cleanly and respects the budget."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings, strategies as st

from voxagent.audio.clip import AudioClip
from voxagent.client.dialects import VLLM
from voxagent.client.types import ToolCall
from voxagent.conversation import (
    MISSING_RESULT_TEXT,
    AssistantTurn,
    Budget,
    Conversation,
    TokenCounter,
    ToolResultTurn,
    UserTurn,
)
from voxagent.errors import ContextLengthError, ConversationError

Encode = Callable[..., int]
Clip = Callable[..., AudioClip]

texts = st.text(st.characters(codec="utf-8"), max_size=30)
maybe_text = st.none() | texts
long_texts = texts | st.text(st.characters(codec="utf-8"), min_size=100, max_size=250)
call_ids = st.one_of(
    st.from_regex(r"[a-zA-Z0-9]{9}", fullmatch=True),
    st.sampled_from(["abcDEF123", "call_abc123xyz", "call_49c89af0", "x", ""]),
    texts,
)
calls = st.builds(
    ToolCall,
    id=call_ids,
    name=st.sampled_from(["set_light", "get time", "", "n" * 70]),
    arguments=st.sampled_from(["{}", '{"room": "kitchen"}', "{bad", "", "[1, 2]"]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("user_text"), long_texts.filter(bool)),
        # Spoken turns come up three times as often: they are what the budget is about.
        *[
            st.tuples(
                st.just("user_audio"), st.sampled_from([0.5, 2.0, 31.0]), maybe_text, maybe_text
            )
        ]
        * 3,
        st.tuples(st.just("assistant"), maybe_text, st.lists(calls, max_size=4)),
        st.tuples(st.just("result"), st.integers(0, 5), long_texts, st.booleans()),
        st.tuples(st.just("bad_result"), call_ids),
        st.tuples(st.just("close_pending")),
        st.tuples(st.just("transcript"), st.integers(0, 10), texts),
        st.tuples(st.just("save_load")),
        st.tuples(st.just("render")),
    ),
    min_size=2,
    max_size=24,
)
budgets = st.builds(
    Budget,
    max_audio_items=st.integers(1, 5),
    max_tokens=st.sampled_from([None, 1600, 2000, 2600]),
    reserve_tokens=st.integers(0, 300),
)
_VALID_ID = re.compile(r"[a-zA-Z0-9]{9}")


def apply(conv: Conversation, op: tuple[Any, ...], clip: Clip, tmp: Path) -> Conversation:
    kind = op[0]
    if kind == "user_text":
        conv.add_user(text=op[1])
    elif kind == "user_audio":
        seconds, text, transcript = op[1:]
        conv.add_user(audio=clip(seconds, int(seconds)), text=text, transcript=transcript)
    elif kind == "assistant":
        conv.add_assistant(op[1], op[2])
    elif kind == "result":
        pending = conv.pending_tool_calls()
        if pending:
            call = pending[op[1] % len(pending)]
            conv.add_tool_result(call.id, call.name, op[2], is_error=op[3])
    elif kind == "bad_result":
        answered = {t.call_id for t in conv.turns if isinstance(t, ToolResultTurn)}
        targets = {
            stored
            for t in conv.turns
            if isinstance(t, AssistantTurn)
            for stored in [*(c.id for c in t.tool_calls if c.id == op[1]), t.id_map.get(op[1])]
            if stored is not None
        }
        try:
            conv.add_tool_result(op[1], "f", "x")
        except ConversationError:
            assert targets <= answered  # unknown id, or every call it names has a result
        else:
            assert targets - answered
    elif kind == "close_pending":
        conv.close_pending()
    elif kind == "transcript":
        users = [t for t in conv.turns if isinstance(t, UserTurn)]
        if users:
            conv.set_transcript(users[op[1] % len(users)], op[2])
    elif kind == "save_load":
        path = tmp / "conv.json"
        conv.save(path)
        loaded = Conversation.load(path)
        assert loaded.turns == conv.turns
        return loaded
    return conv


def expect_renderable(conv: Conversation) -> bool:
    if not any(isinstance(t, UserTurn) for t in conv.turns):
        return False
    for turn in reversed(conv.turns):
        if isinstance(turn, UserTurn):
            return True
        if isinstance(turn, AssistantTurn) and (turn.text or turn.tool_calls):
            return bool(turn.tool_calls)
    return False


def assert_newest_turn_is_too_long(
    conv: Conversation, budget: Budget, encode: Encode, tools: list[dict[str, Any]]
) -> None:
    """The error is justified: the newest user turn and what follows fill most of the context."""
    data = conv.to_dict()
    turns = data["turns"]
    start = max(i for i, t in enumerate(turns) if t["kind"] == "user")
    kept = turns[start:]
    calls = {c["id"] for t in kept if t["kind"] == "assistant" for c in t["tool_calls"]}
    kept = [t for t in kept if t["kind"] != "tool_result" or t["call_id"] in calls]
    alone = Conversation.from_dict({**data, "turns": kept})
    assert budget.max_tokens is not None
    needed = encode(alone.render(VLLM, tools=tools), tools)
    assert needed > 0.8 * (budget.max_tokens - budget.reserve_tokens)


def check_render(
    conv: Conversation, budget: Budget, encode: Encode, tools: list[dict[str, Any]]
) -> None:
    if not expect_renderable(conv):
        try:
            conv.render(VLLM, budget=budget, tools=tools)
        except ConversationError:
            return
        raise AssertionError("rendered a request that has nothing to answer")
    try:
        messages = conv.render(VLLM, budget=budget, tools=tools)
    except ContextLengthError:
        assert_newest_turn_is_too_long(conv, budget, encode, tools)
        event("context length error")
        return
    tokens = encode(messages, tools)  # raises if vLLM would reject the request
    if budget.max_tokens is not None:
        assert tokens <= budget.max_tokens - budget.reserve_tokens
    parts = [p for m in messages if isinstance(m["content"], list) for p in m["content"]]
    sent_audio = sum(p["type"] == "input_audio" for p in parts)
    assert sent_audio <= budget.max_audio_items
    users = [t for t in conv.turns if isinstance(t, UserTurn)]
    event(f"audio compacted: {sent_audio < sum(t.audio is not None for t in users)}")
    event(f"turns dropped: {sum(m['role'] == 'user' for m in messages) < len(users)}")
    event(f"missing results: {any(m.get('content') == MISSING_RESULT_TEXT for m in messages)}")
    newest = next(t for t in reversed(conv.turns) if isinstance(t, UserTurn))
    if newest.audio is not None:
        last_user = next(m for m in reversed(messages) if m["role"] == "user")
        assert VLLM.audio_part(newest.audio) in last_user["content"]
    for index, message in enumerate(messages):
        if message.get("tool_calls"):
            ids = [c["id"] for c in message["tool_calls"]]
            assert all(_VALID_ID.fullmatch(i) for i in ids)
            following = messages[index + 1 : index + 1 + len(ids)]
            assert [m["role"] for m in following] == ["tool"] * len(ids)
            assert [m["tool_call_id"] for m in following] == ids


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=operations, budget=budgets, instructions=maybe_text)
def test_random_histories_always_render_valid_requests(
    ops: list[tuple[Any, ...]],
    budget: Budget,
    instructions: str | None,
    clip: Clip,
    encode: Encode,
    counter: TokenCounter,
    tools: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    budget = Budget(budget.max_audio_items, budget.max_tokens, budget.reserve_tokens, counter)
    conv = Conversation(instructions)
    for op in ops:
        conv = apply(conv, op, clip, tmp_path)
        if op[0] == "render":
            check_render(conv, budget, encode, tools)
    check_render(conv, budget, encode, tools)
