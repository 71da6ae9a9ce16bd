"""Turning the history into request messages Voxtral accepts, within the audio and token budget.

The history is cut into blocks: a user turn with the assistant turns that follow it (a block
without a user turn holds assistant turns added before the first user turn). Blocks are what
compaction drops, so a tool call never loses its result. Tool results are placed right after the
assistant message that made the call, whenever they were added; a call that never got one is
rendered with a "no result" error, so every request keeps calls and results paired.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from voxagent.client.dialects import Dialect
from voxagent.conversation.budget import Budget, TokenCounter, audio_tokens, tools_tokens
from voxagent.conversation.turns import AssistantTurn, ToolResultTurn, Turn, UserTurn
from voxagent.errors import ContextLengthError, ConversationError
from voxagent.jsonsafe import MAX_JSON_BYTES, MAX_JSON_DEPTH, JSONLimitError, loads_bounded

__all__ = [
    "EMPTY_RESULT_TEXT",
    "MISSING_RESULT_TEXT",
    "UNTRANSCRIBED_TEXT",
    "VOICE_PREFIX",
    "Plan",
    "make_plan",
    "render_plan",
]

VOICE_PREFIX = "[voice message]"
"""Starts the text that replaces a compacted audio turn: `[voice message] <transcript>`."""

UNTRANSCRIBED_TEXT = "[earlier voice message, not transcribed]"
"""Replaces a compacted audio turn whose transcript is unknown."""

MISSING_RESULT_TEXT = "Error: no result; the call was interrupted before it finished."
"""Sent for a tool call that never got a result (cancelled, superseded by a later turn)."""

EMPTY_RESULT_TEXT = "(empty result)"
"""Sent for a tool result whose content is empty."""

_TOO_DEEP_RESULT_TEXT = (
    f"Error: the tool's result was not sent: it nests deeper than {MAX_JSON_DEPTH} levels."
)
_BAD_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
# [INST]/[/INST] around a user message; BOS once per request; [SYSTEM_PROMPT] pair.
_USER_OVERHEAD = 2
_REQUEST_OVERHEAD = 1
_SYSTEM_OVERHEAD = 2


@dataclass(slots=True)
class _Block:
    user: UserTurn | None
    assistants: list[AssistantTurn] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Plan:
    """Which parts of the history one request carries.

    Attributes:
        blocks: The whole history cut into blocks (see the module docstring).
        results: Tool results by stored call id.
        start: Index of the first block sent; older blocks are dropped.
        audio: Indices of blocks whose user audio travels as audio (others send text).
        tokens: The estimated prompt size.
        limit: The token limit it was planned against (None: unlimited).
    """

    blocks: tuple[_Block, ...]
    results: dict[str, ToolResultTurn]
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


def _split(turns: Sequence[Turn]) -> tuple[list[_Block], dict[str, ToolResultTurn]]:
    blocks: list[_Block] = []
    results: dict[str, ToolResultTurn] = {}
    for turn in turns:
        if isinstance(turn, UserTurn):
            blocks.append(_Block(turn))
        elif isinstance(turn, AssistantTurn):
            if not blocks:
                blocks.append(_Block(None))
            blocks[-1].assistants.append(turn)
        else:
            results[turn.call_id] = turn
    return blocks, results


def _user_text(turn: UserTurn, as_audio: bool) -> str | None:
    pieces: list[str] = []
    if turn.audio is not None and not as_audio:
        transcript = (turn.transcript or "").strip()
        pieces.append(f"{VOICE_PREFIX} {transcript}" if transcript else UNTRANSCRIBED_TEXT)
    if turn.text:
        pieces.append(turn.text)
    return "\n".join(pieces) if pieces else None


def _safe_name(name: str) -> str:
    # The validator rejects names outside [a-zA-Z0-9_-]{1,64}; a model can hallucinate any.
    return _BAD_NAME_CHARS.sub("_", name)[:64] or "unknown_tool"


def _parsed(text: str) -> Any:
    # Mirrors how mistral_common re-serialises arguments and results before tokenising. A text
    # nested too deep for the bounded parser counts as text (a tool result) or is never sent at
    # all (arguments: see _sendable_arguments), so a hostile nesting cannot recurse here.
    try:
        return loads_bounded(text)
    except ValueError:
        return text


def _could_nest_too_deep(text: str) -> bool:
    # Nesting deeper than the limit needs more opening brackets than the limit; counting them is
    # a fast scan, so the common text (a few brackets) is never parsed just to check its depth.
    return text.count("[") + text.count("{") > MAX_JSON_DEPTH


def _sendable_arguments(arguments: str) -> str:
    """The arguments text to send for a recorded call.

    Malformed JSON is sent as it is: the server re-parses arguments and keeps what does not parse
    as a plain string, and the model then sees what it really sent. JSON nested deeper (or larger)
    than the bounded parser accepts is the exception: the server's own parser would recurse on it
    and fail every later request, so it is sent as `{}` (its tool already answered that the
    arguments were invalid).
    """
    if not arguments:
        return "{}"
    if len(arguments) > MAX_JSON_BYTES or _could_nest_too_deep(arguments):
        try:
            loads_bounded(arguments)
        except JSONLimitError:
            return "{}"
        except ValueError:
            pass
    return arguments


def _sendable_result(content: str) -> str:
    # The server parses a tool result as JSON when it can; text that opens with thousands of
    # brackets makes that parser recurse and fail, whether or not the text is valid JSON. Only
    # the depth matters here (a large result is fine), so the size limit is the text's own.
    if _could_nest_too_deep(content):
        try:
            loads_bounded(content, max_bytes=len(content))
        except JSONLimitError:
            return _TOO_DEEP_RESULT_TEXT
        except ValueError:
            pass
    return content


def _result_text(result: ToolResultTurn | None) -> str:
    if result is None:
        return MISSING_RESULT_TEXT
    content = _sendable_result(result.content) if result.content.strip() else EMPTY_RESULT_TEXT
    if result.is_error and not content.lower().startswith("error"):
        return f"Error: {content}"
    return content


def _assistant_messages(
    turn: AssistantTurn, results: dict[str, ToolResultTurn]
) -> list[dict[str, Any]]:
    if not turn.text and not turn.tool_calls:
        return []  # Voxtral rejects an assistant message with neither text nor calls.
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if not turn.tool_calls:
        return [message]
    message["tool_calls"] = [
        {
            "id": call.id,
            "type": "function",
            "function": {
                "name": _safe_name(call.name),
                "arguments": _sendable_arguments(call.arguments),
            },
        }
        for call in turn.tool_calls
    ]
    tool_messages = [
        {
            "role": "tool",
            "tool_call_id": call.id,
            "name": _safe_name(call.name),
            "content": _result_text(results.get(call.id)),
        }
        for call in turn.tool_calls
    ]
    return [message, *tool_messages]


def _followers_cost(block: _Block, results: dict[str, ToolResultTurn], count: TokenCounter) -> int:
    total = 0
    for turn in block.assistants:
        for message in _assistant_messages(turn, results):
            if message["role"] == "tool":
                body = [{"name": message["name"], "content": _parsed(message["content"])}]
                total += 4 + count(message["tool_call_id"])
                total += count(json.dumps(body, ensure_ascii=False))
            elif message.get("tool_calls"):
                functions = [c["function"] for c in message["tool_calls"]]
                calls = [
                    {"name": f["name"], "arguments": _parsed(f["arguments"])} for f in functions
                ]
                total += 2 + count(json.dumps(calls, ensure_ascii=False))
                total += sum(2 + count(c["id"]) for c in message["tool_calls"])
                total += count(message["content"]) if message["content"] else 0
            else:
                total += 1 + count(message["content"])
    return total


def _user_cost(turn: UserTurn | None, as_audio: bool, count: TokenCounter) -> int:
    if turn is None:
        return 0
    text = _user_text(turn, as_audio)
    cost = _USER_OVERHEAD + (count(text) if text else 0)
    if as_audio and turn.audio is not None:
        cost += audio_tokens(turn.audio.duration_s)
    return cost


def make_plan(
    turns: Sequence[Turn],
    instructions: str | None,
    budget: Budget,
    tools: list[dict[str, Any]] | None = None,
    *,
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
        turns: The history.
        instructions: The agent's instructions, if any.
        budget: The limits.
        tools: The tools sent with the request (their schemas use tokens too).
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
    blocks, results = _split(turns)
    users = [index for index, block in enumerate(blocks) if block.user is not None]
    if not users:
        raise ConversationError(
            "Nothing to send: the conversation has no user turn yet",
            hint="Add a user turn (text or audio) before requesting an answer.",
        )
    newest = users[-1]
    count = budget.count
    first, audio_from = min(max(0, floor[0]), newest), max(0, floor[1])
    audio_blocks = [i for i in users if (user := blocks[i].user) is not None and user.audio]
    kept = [i for i in audio_blocks if i >= max(first, audio_from) or i == newest]
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

    as_audio = [_user_cost(b.user, True, count) for b in blocks]
    as_text = [_user_cost(b.user, False, count) for b in blocks]
    followers = [_followers_cost(b, results, count) for b in blocks]
    fixed = _REQUEST_OVERHEAD + (count(instructions) + _SYSTEM_OVERHEAD if instructions else 0)

    def total(start: int) -> int:
        return fixed + sum(
            (as_audio[i] if i in kept else as_text[i]) + followers[i]
            for i in range(start, len(blocks))
        )

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
    return Plan(tuple(blocks), results, start, sent_audio, total(start), limit)


def _too_long(block: _Block, need: int, budget: Budget, tool_cost: int) -> ContextLengthError:
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


def render_plan(plan: Plan, instructions: str | None, dialect: Dialect) -> list[dict[str, Any]]:
    """Render the planned request as OpenAI-shaped messages.

    Instructions become a system message when no audio is sent; otherwise (Tekken v7 rejects a
    system prompt next to audio) they become a text chunk at the start of the first user message.

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
            messages.append(
                _user_message(block.user, index in plan.audio, pending_instructions, dialect)
            )
            pending_instructions = None
        for turn in block.assistants:
            messages.extend(_assistant_messages(turn, plan.results))
    if messages[-1]["role"] not in ("user", "tool"):
        raise ConversationError(
            "Nothing to answer: the conversation ends with the assistant's reply",
            hint="Add a user turn or the pending tool results before requesting another answer.",
        )
    return messages


def _user_message(
    turn: UserTurn, as_audio: bool, instructions: str | None, dialect: Dialect
) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if instructions:
        parts.append({"type": "text", "text": instructions})
    if as_audio and turn.audio is not None:
        parts.append(dialect.audio_part(turn.audio))
    text = _user_text(turn, as_audio)
    if text:
        parts.append({"type": "text", "text": text})
    if len(parts) == 1 and parts[0]["type"] == "text":
        return {"role": "user", "content": parts[0]["text"]}
    return {"role": "user", "content": parts}
