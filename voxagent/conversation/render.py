"""Turning the history into request messages Voxtral accepts, within the audio and token budget.

`make_plan` decides which blocks (see `voxagent.conversation.blocks`) a request carries and which
of their audio travels as audio; `render_plan` writes the plan out as messages. A call that never
got a result is rendered with a "no result" error, so every request keeps calls and results
paired. Per-turn costs and texts come from a `TurnCache`, so a request computes them only for the
turns that are new since the last one.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voxagent.client.dialects import Dialect
from voxagent.conversation.blocks import Block
from voxagent.conversation.budget import Budget, audio_tokens, tools_tokens
from voxagent.conversation.cache import TurnCache
from voxagent.conversation.messages import (
    EMPTY_RESULT_TEXT,
    MISSING_RESULT_TEXT,
    UNTRANSCRIBED_TEXT,
    VOICE_PREFIX,
    assistant_message,
    tool_message,
    user_message,
)
from voxagent.conversation.turns import ToolResultTurn, UserTurn
from voxagent.errors import ContextLengthError, ConversationError

__all__ = [
    "EMPTY_RESULT_TEXT",
    "MISSING_RESULT_TEXT",
    "UNTRANSCRIBED_TEXT",
    "VOICE_PREFIX",
    "Plan",
    "make_plan",
    "render_plan",
]

# BOS once per request; [SYSTEM_PROMPT] pair.
_REQUEST_OVERHEAD = 1
_SYSTEM_OVERHEAD = 2


@dataclass(frozen=True, slots=True)
class Plan:
    """Which parts of the history one request carries.

    Attributes:
        blocks: The whole history cut into blocks.
        results: Tool results by stored call id.
        start: Index of the first block sent; older blocks are dropped.
        audio: Indices of blocks whose user audio travels as audio (others send text).
        tokens: The estimated prompt size.
        limit: The token limit it was planned against (None: unlimited).
    """

    blocks: tuple[Block, ...]
    results: Mapping[str, ToolResultTurn]
    start: int
    audio: frozenset[int]
    tokens: int
    limit: int | None

    @property
    def floor(self) -> tuple[int, int]:
        """`(start, audio_from)`: what later plans of the same history keep compacted."""
        return self.start, min(self.audio, default=len(self.blocks))

    def compacted(self) -> list[UserTurn]:
        """Audio user turns that are sent as text (not those dropped whole)."""
        return [
            block.user
            for index, block in enumerate(self.blocks)
            if index >= self.start
            and block.user is not None
            and block.user.audio is not None
            and index not in self.audio
        ]


def make_plan(
    blocks: Sequence[Block],
    results: Mapping[str, ToolResultTurn],
    instructions: str | None,
    budget: Budget,
    tools: list[dict[str, Any]] | None = None,
    *,
    cache: TurnCache,
    audio_slack: int = 0,
    token_slack: int = 0,
    strict: bool = True,
    floor: tuple[int, int] = (0, 0),
) -> Plan:
    """Decide which audio travels as audio, which as text, and which old blocks are dropped.

    Order of sacrifices: audio beyond `max_audio_items` becomes text (oldest first); while over
    the token limit, the oldest remaining audio becomes text, then the oldest blocks are
    dropped. The newest user turn (and what follows it) is never compacted.

    Compaction is sticky and comes in steps, so that requests extend one another: what an
    earlier request compacted (`floor`, from `Plan.floor`) stays compacted, and when more must
    go, `Budget.step` clips go at once (down to `max_audio_items - step + 1`) and the token
    budget is undercut by `Budget.compaction_margin`. Between two compactions every request is
    the previous one plus the new turns, byte for byte.

    Args:
        blocks: The history, cut into blocks.
        results: Its tool results by stored call id.
        instructions: The agent's instructions, if any.
        budget: The limits.
        tools: The tools sent with the request (their schemas use tokens too).
        cache: The conversation's per-turn costs (filled in for turns new to it).
        audio_slack: Plan as if this many more audio turns came, one by one (to look ahead:
            what the coming compactions will turn into text).
        token_slack: Plan for this many fewer tokens (to look ahead).
        strict: Raise when the newest block alone does not fit; otherwise return the plan
            that keeps only it.
        floor: `(start, audio_from)` of an earlier plan of the same history: blocks before
            `start` stay dropped, audio of blocks before `audio_from` stays text.

    Raises:
        ConversationError: There is no user turn to answer.
        ContextLengthError: The newest turn alone does not fit (only when `strict`).
    """
    users = [index for index, block in enumerate(blocks) if block.user is not None]
    if not users:
        raise ConversationError(
            "Nothing to send: the conversation has no user turn yet",
            hint="Add a user turn (text or audio) before requesting an answer.",
        )
    newest = users[-1]
    count = budget.count
    cache.count_with(count)
    first, audio_from = min(max(0, floor[0]), newest), max(0, floor[1])
    audio_blocks = [i for i in users if (user := blocks[i].user) is not None and user.audio]
    audio_start = max(first, audio_from)
    kept = [i for i in audio_blocks if i >= audio_start or i == newest]
    # One step down, not one clip: the next `step - 1` turns then fit without compacting.
    after = budget.max_audio_items - budget.step + 1
    if len(kept) > budget.max_audio_items:
        kept = kept[-after:]
    coming = 0
    for _ in range(audio_slack):  # looking ahead: the audio turns to come, one at a time
        coming += 1
        if len(kept) + coming > budget.max_audio_items:
            kept = kept[len(kept) - max(0, after - coming) :]
            coming = min(coming, after)

    # What each block costs with its audio as text, summed from each block to the end (so a
    # total from any start is one lookup), and what sending its audio as audio adds to that.
    costs = [cache.block(block, results) for block in blocks]
    from_here = [*itertools.accumulate((cost[1] for cost in reversed(costs)), initial=0)][::-1]
    fixed = _REQUEST_OVERHEAD + (count(instructions) + _SYSTEM_OVERHEAD if instructions else 0)

    def total(start: int) -> int:
        return fixed + from_here[start] + sum(costs[i][0] for i in kept if i >= start)

    start = first
    limit = None
    if budget.max_tokens is not None:
        tool_cost = tools_tokens(tools, count)
        limit = budget.max_tokens - budget.reserve_tokens - tool_cost - token_slack
        goal = limit
        if total(start) > limit:
            goal = limit - int(budget.compaction_margin * max(0, limit))
        while total(start) > goal:
            older = [i for i in kept if i != newest and i >= start]
            if older:
                kept.remove(older[0])
            elif start < newest:
                start += 1
            else:
                break
        if total(start) > limit and strict:
            raise _too_long(blocks[newest], total(start), budget, tool_cost)
    sent_audio = frozenset(i for i in kept if i >= start)
    return Plan(tuple(blocks), dict(results), start, sent_audio, total(start), limit)


def _too_long(block: Block, need: int, budget: Budget, tool_cost: int) -> ContextLengthError:
    assert budget.max_tokens is not None  # only called under a token limit
    available = budget.max_tokens - budget.reserve_tokens - tool_cost
    seconds = block.user.audio.duration_s if block.user and block.user.audio else 0.0
    what = "text"
    if seconds:
        what = f"{seconds:.0f} s of audio = {audio_tokens(seconds)} tokens, plus text"
    fit_s = max(0, (available - 200) // 375) * 30
    fits = f"about {fit_s} s of audio fits" if fit_s else "not even 30 s of audio fits"
    return ContextLengthError(
        f"The newest turn needs about {need} tokens ({what}) but the context leaves {available} "
        f"(max_model_len {budget.max_tokens} - {budget.reserve_tokens} reserved for the answer"
        f" - {tool_cost} for tool schemas)",
        hint=f"Send a shorter message ({fits}), start the server with a larger --max-model-len, "
        "or lower Budget.reserve_tokens.",
    )


def render_plan(
    plan: Plan, instructions: str | None, dialect: Dialect, cache: TurnCache
) -> list[dict[str, Any]]:
    """Render the planned request as OpenAI-shaped messages.

    Instructions become a system message when no audio is sent; otherwise (Tekken v7 rejects a
    system prompt next to audio) they become a text chunk at the start of the first user message.
    `cache` is the one the plan was made with.

    Raises:
        ConversationError: The history ends with an assistant answer (nothing to answer).
    """
    with_audio = bool(plan.audio)
    system = bool(instructions) and not with_audio
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": instructions})
    pending_instructions = instructions if (instructions and with_audio) else None
    for index in range(plan.start, len(plan.blocks)):
        block = plan.blocks[index]
        if block.user is None:
            if not system:
                continue  # assistant turns before any user turn need a system message first
        else:
            as_audio = index in plan.audio
            text = cache.user_text(block.user, as_audio)
            messages.append(user_message(block.user, text, as_audio, pending_instructions, dialect))
            pending_instructions = None
        for turn in block.assistants:
            entry = cache.assistant(turn)
            if not turn.text and not entry.calls:
                continue  # Voxtral rejects an assistant message with neither text nor calls.
            messages.append(assistant_message(turn.text, entry.calls))
            for call in entry.calls:
                content, _ = cache.result(call, plan.results.get(call[0]))
                messages.append(tool_message(call, content))
    if messages[-1]["role"] not in ("user", "tool"):
        raise ConversationError(
            "Nothing to answer: the conversation ends with the assistant's reply",
            hint="Add a user turn or the pending tool results before requesting another answer.",
        )
    return messages
