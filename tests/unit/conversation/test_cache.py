"""Per-turn caching: a conversation that kept its caches renders what a fresh copy renders, and
a request counts tokens only for the turns that are new to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from voxagent.audio.clip import AudioClip
from voxagent.client.dialects import VLLM
from voxagent.client.types import ToolCall
from voxagent.conversation import Budget, Conversation, UserTurn, estimate_tokens
from voxagent.errors import ContextLengthError, ConversationError

Clip = Callable[..., AudioClip]

words = st.sampled_from(["", "on", "the kitchen light", "{[{", "x" * 300, '{"ok": true}'])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("user_text"), words.filter(bool)),
        *[st.tuples(st.just("user_audio"), st.sampled_from([1.0, 31.0]), st.none() | words)] * 3,
        st.tuples(st.just("assistant"), st.none() | words, st.integers(0, 3)),
        st.tuples(st.just("result"), words, st.booleans()),
        st.tuples(st.just("transcript"), st.integers(0, 9), words),
        st.tuples(st.just("render_next"), words.filter(bool)),
        st.tuples(st.just("prefetch")),
    ),
    min_size=1,
    max_size=30,
)
budgets = st.builds(
    Budget,
    max_audio_items=st.integers(1, 3),
    max_tokens=st.sampled_from([None, 2500, 4000]),
    reserve_tokens=st.just(200),
)


def outcome(conv: Conversation, budget: Budget, **kwargs: Any) -> Any:
    try:
        return conv.render(VLLM, budget=budget, **kwargs)
    except (ConversationError, ContextLengthError) as error:
        return type(error), error.message


def apply(conv: Conversation, op: tuple[Any, ...], clip: Clip, budget: Budget, n: int) -> None:
    kind = op[0]
    if kind == "user_text":
        conv.add_user(text=op[1])
    elif kind == "user_audio":
        conv.add_user(audio=clip(op[1], n), transcript=op[2])
    elif kind == "assistant":
        calls = [ToolCall(f"c{n:03d}{i}xyzw"[:9], "set_light", "{}") for i in range(op[2])]
        conv.add_assistant(op[1], calls)
    elif kind == "result":
        pending = conv.pending_tool_calls()
        if pending:
            conv.add_tool_result(pending[0].id, pending[0].name, op[1], is_error=op[2])
    elif kind == "transcript":
        users = [t for t in conv.turns if isinstance(t, UserTurn)]
        if users:
            conv.set_transcript(users[op[1] % len(users)], op[2])
    elif kind == "render_next":
        try:
            conv.render_next(VLLM, text=op[1], budget=budget)
        except (ConversationError, ContextLengthError):
            pass
    elif kind == "prefetch":
        try:
            conv.audio_to_transcribe(budget)
        except ConversationError:
            pass


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=operations, budget=budgets)
def test_a_conversation_with_caches_renders_what_a_fresh_copy_renders(
    ops: list[tuple[Any, ...]], budget: Budget, clip: Clip
) -> None:
    conv = Conversation("Be brief.")
    for n, op in enumerate(ops):
        apply(conv, op, clip, budget, n)
        # The copy starts with empty caches and the same compaction floor.
        fresh = Conversation.from_snapshot(conv.snapshot())
        to_transcribe = [t.uid for t in fresh.audio_to_transcribe(budget)]
        assert [t.uid for t in conv.audio_to_transcribe(budget)] == to_transcribe
        # The token estimate too (it decides compaction): the conversation's own request state.
        if any(isinstance(t, UserTurn) for t in conv.turns):
            plan = conv._requests.plan(conv.instructions, budget, None, strict=False)
            again = fresh._requests.plan(fresh.instructions, budget, None, strict=False)
            assert (plan.tokens, plan.start, plan.audio) == (again.tokens, again.start, again.audio)
        assert outcome(conv, budget) == outcome(fresh, budget)
        assert conv.snapshot() == fresh.snapshot()  # and the floor moved alike


def test_a_request_counts_only_the_turns_new_to_it(clip: Clip) -> None:
    """Whatever the history's length, one more spoken turn costs the same number of counts."""
    counted: list[str] = []

    def counter(text: str, /) -> int:
        counted.append(text)
        return estimate_tokens(text)

    budget = Budget(max_audio_items=3, max_tokens=100_000, counter=counter)
    conv = Conversation("Be brief.")
    per_turn: list[int] = []
    for n in range(40):
        conv.add_user(audio=clip(1.0, n), transcript=f"turn {n}")
        counted.clear()
        conv.audio_to_transcribe(budget)
        conv.render(VLLM, budget=budget)
        per_turn.append(len(counted))
        answer = conv.add_assistant(None, [ToolCall(f"call{n:05d}", "set_light", "{}")])
        conv.add_tool_result(answer.tool_calls[0].id, "set_light", f"done {n}")
        conv.add_assistant(f"answer {n}")
    # The new user turn (twice: as audio, as text), the previous turn's answers (a call, its
    # result and the text), and the instructions once per plan: the same from the third turn on.
    assert len(set(per_turn[2:])) == 1, per_turn
    assert per_turn[-1] <= 12
