"""The agent loop: one user turn, from the first model request to the final answer.

`run_turn` is the only loop in voxagent; `Agent.ask` and `Agent.listen` both call it. Each model
request is one `_round`: it streams (or fetches) the assistant message, starts every tool call as
soon as its arguments are complete, waits for the tools, and records the assistant message and the
tool results in the conversation. The loop then decides with `match` whether to answer or go again.

Whatever happens (a tool fails, the server breaks mid-stream, the user barges in and the turn is
cancelled) the conversation is left valid: every tool call that was made gets a recorded result.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from voxagent.approval import Approval, ApprovalRequest, denial_message, format_question
from voxagent.events import (
    AssistantMessage,
    AssistantTextDelta,
    ErrorEvent,
    Event,
    ToolCallFinished,
    ToolCallStarted,
    ToolStillRunning,
    TurnCompleted,
    TurnStarted,
)
from voxagent.model.types import (
    ChatResponse,
    StreamDone,
    TextDelta,
    ToolCall,
    ToolCallReady,
    Usage,
)
from voxagent.results import ToolCallRecord, TurnResult
from voxagent.tools import RunContext, ToolArgumentsError, ToolRegistry, ToolResult

if TYPE_CHECKING:
    from voxagent.audio.clip import AudioClip
    from voxagent.conversation import Budget, Conversation
    from voxagent.model import ModelClient

__all__ = ["ModelSettings", "TurnEnv", "TurnInput", "run_turn"]

logger = logging.getLogger("voxagent.agent")

Emit = Callable[[Event], Awaitable[None]]

CANCELLED_RESULT = "Cancelled before it finished: the user interrupted."
FAILED_RESULT = "Not finished: the request to the model failed before this call completed."


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Sampling and tool options sent with every chat request of a turn."""

    tool_choice: str = "auto"
    parallel_tool_calls: bool | None = None
    temperature: float = 0.2
    top_p: float = 0.95
    max_tokens: int | None = None
    seed: int | None = None
    stream: bool = True
    max_tool_rounds: int = 8


@dataclass(frozen=True, slots=True)
class TurnInput:
    """One user turn as the loop receives it (audio already encoded for the model)."""

    text: str | None = None
    clip: AudioClip | None = None
    transcript: str | None = None
    tool_choice: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class TurnEnv:
    """Everything a turn needs from its agent; built once per agent, shared by turns."""

    client: ModelClient
    conversation: Conversation
    registry: ToolRegistry
    settings: ModelSettings
    budget: Budget | None
    deps: Any
    approval: Approval
    clock: Callable[[], float] = anyio.current_time
    prefetch_transcripts: Callable[[], None] | None = None
    slow_tool_after: float | None = None
    slow_tool_notice: str = ""
    speaker: Callable[[str], Awaitable[None]] | None = None


@dataclass(slots=True)
class _Call:
    """A tool call dispatched during a round, and (once known) its result."""

    index: int
    call: ToolCall
    result: ToolResult | None = None


@dataclass(slots=True)
class _Round:
    """What one model request produced."""

    text: str = ""
    calls: list[_Call] = field(default_factory=list)
    response: ChatResponse | None = None


@dataclass(slots=True)
class _Stats:
    usage: Usage = field(default_factory=Usage)
    model_s: float = 0.0
    tools_s: float = 0.0
    first_token_s: float | None = None
    rounds: int = 0
    records: list[ToolCallRecord] = field(default_factory=list)


async def run_turn(env: TurnEnv, user: TurnInput, turn_id: int, emit: Emit) -> TurnResult:
    """Run one user turn to completion and return its result.

    Errors from the model server propagate as typed `VoxagentError`s after the conversation has
    been left valid; cancellation propagates too (the caller decides what it means).
    """
    started = env.clock()
    conv = env.conversation
    conv.add_user(text=user.text, audio=user.clip, transcript=user.transcript)
    await emit(TurnStarted(turn_id=turn_id, has_audio=user.clip is not None, text=user.text))
    if env.prefetch_transcripts is not None:
        # Once per turn: transcripts for audio that compaction will soon need, fetched while the
        # model works (they are used by later requests, never waited for).
        env.prefetch_transcripts()
    stats = _Stats()
    choice = user.tool_choice or env.settings.tool_choice
    tool_rounds = 0
    limit_reached = False
    final_text = ""
    while True:
        allow_tools = tool_rounds < env.settings.max_tool_rounds
        # Once calls were refused for the round limit (the model was told why in their
        # results), the last request forbids tools so the model must answer in text.
        outcome = await _round(env, "none" if limit_reached else choice, allow_tools, stats, emit)
        match outcome:
            case _Round(calls=[]):
                final_text = outcome.text
                break
            case _Round() if limit_reached:
                # The server ignored tool_choice="none": stop rather than loop forever.
                final_text = outcome.text
                await emit(
                    ErrorEvent(
                        message=f"The model kept calling tools after {tool_rounds} tool rounds; "
                        "the turn was stopped.",
                        error_type="MaxToolRounds",
                        hint="Raise max_tool_rounds, or check the tool descriptions.",
                    )
                )
                break
            case _Round() if not allow_tools:
                limit_reached = True
            case _Round():
                tool_rounds += 1
                # A forced choice (a tool name or "required") applies to the first round only;
                # forcing it again would make the model call the tool forever.
                if choice not in ("auto", "none"):
                    choice = "auto"
    if not final_text and not stats.records:
        await emit(
            ErrorEvent(
                message="The model returned an empty answer.",
                error_type="EmptyAnswer",
                hint="Try again, or check the server's sampling settings.",
            )
        )
    timings = dict(user.timings)
    timings.update(model=stats.model_s, tools=stats.tools_s, total=env.clock() - started)
    if stats.first_token_s is not None:
        timings["first_token"] = stats.first_token_s
    result = TurnResult(
        turn_id=turn_id,
        text=final_text,
        tool_calls=tuple(stats.records),
        transcript=user.transcript or _transcript_of_last_user(conv),
        timings=timings,
        usage=stats.usage,
        rounds=stats.rounds,
    )
    await emit(
        TurnCompleted(
            turn_id=turn_id,
            text=final_text,
            timings=timings,
            usage={
                "prompt_tokens": stats.usage.prompt_tokens,
                "completion_tokens": stats.usage.completion_tokens,
                "total_tokens": stats.usage.total_tokens,
            },
        )
    )
    return result


def _transcript_of_last_user(conv: Conversation) -> str | None:
    from voxagent.conversation import UserTurn

    for turn in reversed(conv.turns):
        if isinstance(turn, UserTurn):
            return turn.transcript
    return None


async def _round(
    env: TurnEnv, tool_choice: str, allow_tools: bool, stats: _Stats, emit: Emit
) -> _Round:
    """One model request, its tool calls run, everything recorded in the conversation."""
    specs = env.registry.to_openai() or None
    messages = env.conversation.render(env.client.dialect, budget=env.budget, tools=specs)
    outcome = _Round()
    options: dict[str, Any] = {
        "tools": specs,
        "tool_choice": tool_choice if specs else None,
        "parallel_tool_calls": env.settings.parallel_tool_calls,
        "temperature": env.settings.temperature,
        "top_p": env.settings.top_p,
        "max_tokens": env.settings.max_tokens,
        "seed": env.settings.seed,
    }
    request_started = env.clock()
    tools_window: list[float] = []
    notices: set[str] = set()
    stats.rounds += 1
    error: Exception | None = None
    try:
        async with anyio.create_task_group() as tg:

            def dispatch(index: int, call: ToolCall) -> None:
                entry = _Call(index=index, call=call)
                outcome.calls.append(entry)
                tg.start_soon(_run_call, env, entry, allow_tools, emit, tools_window, notices)

            try:
                if env.settings.stream:
                    await _consume_stream(env, messages, options, outcome, stats, emit, dispatch)
                else:
                    response = await env.client.chat(messages, **options)
                    outcome.response = response
                    outcome.text = response.text or ""
                    for index, call in enumerate(response.tool_calls):
                        dispatch(index, call)
            except Exception as exc:  # a failed request: stop the tools, record, then re-raise
                error = exc
                tg.cancel_scope.cancel()
            stats.model_s += env.clock() - request_started
    finally:
        # Shielded: even when the turn is being cancelled, the conversation must stay valid.
        with anyio.CancelScope(shield=True):
            await _record(env, outcome, stats, error, emit)
    if tools_window:
        stats.tools_s += max(tools_window) - min(tools_window)
    cut = outcome.response is not None and outcome.response.finish_reason == "length"
    if cut and (outcome.calls or tool_choice not in ("auto", "none")):
        # A text answer cut at max_tokens is the user's choice; a tool call cut there is broken
        # JSON the model never meant, worth saying (plain text truncation is left alone).
        await emit(
            ErrorEvent(
                message="The model's answer was cut off at max_tokens inside a tool call.",
                error_type="AnswerTruncated",
                hint="raise max_tokens (a tool call needs room for its JSON arguments)",
            )
        )
    if error is not None:
        raise error
    return outcome


async def _consume_stream(
    env: TurnEnv,
    messages: list[dict[str, Any]],
    options: dict[str, Any],
    outcome: _Round,
    stats: _Stats,
    emit: Emit,
    dispatch: Callable[[int, ToolCall], None],
) -> None:
    """Read a streamed answer: text deltas out as events, each tool call dispatched when ready."""
    started = env.clock()
    # aclosing: a stream left early (error, cancellation) frees its connection at once.
    async with contextlib.aclosing(env.client.stream_chat(messages, **options)) as items:
        async for item in items:
            match item:
                case TextDelta(text=text):
                    if stats.first_token_s is None:
                        stats.first_token_s = env.clock() - started
                    outcome.text += text
                    await emit(AssistantTextDelta(text=text))
                case ToolCallReady(index=index, call=call):
                    dispatch(index, call)
                case StreamDone(response=response):
                    outcome.response = response


async def _record(
    env: TurnEnv, outcome: _Round, stats: _Stats, error: Exception | None, emit: Emit
) -> None:
    response = outcome.response
    if response is not None:
        if response.usage is not None:
            stats.usage = stats.usage + response.usage
        if not env.settings.stream or not outcome.text:
            outcome.text = response.text or outcome.text
        # Calls the stream announced only at the end (or a non-stream answer) are all dispatched
        # by now; a call in the final message we never saw would be a client bug, not a model one.
    calls = sorted(outcome.calls, key=lambda c: c.index)
    if not outcome.text and not calls:
        return
    assistant = env.conversation.add_assistant(outcome.text or None, [c.call for c in calls])
    if outcome.text:
        await emit(AssistantMessage(text=outcome.text))
    for entry, stored in zip(calls, assistant.tool_calls, strict=True):
        result = entry.result
        if result is None:
            content = CANCELLED_RESULT if error is None else FAILED_RESULT
            result = ToolResult(content=content, is_error=True, error_kind="cancelled")
            entry.result = result
            await emit(
                ToolCallFinished(
                    call_id=stored.id, name=stored.name, result=content, is_error=True, duration=0.0
                )
            )
        env.conversation.add_tool_result(
            stored.id, stored.name, result.content, is_error=result.is_error
        )
        stats.records.append(
            ToolCallRecord(
                call_id=stored.id, name=stored.name, arguments=stored.arguments, result=result
            )
        )


def display_arguments(arguments: str) -> dict[str, Any]:
    """Best-effort parse of a call's raw arguments for events and questions."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def _notice_when_slow(env: TurnEnv, call: ToolCall, emit: Emit, notices: set[str]) -> None:
    """Fill the silence once per round when a tool runs long (the user hears something)."""
    assert env.slow_tool_after is not None
    await anyio.sleep(env.slow_tool_after)
    if notices:  # another call of this round already said it
        return
    notices.add(call.id)
    await emit(
        ToolStillRunning(
            call_id=call.id,
            name=call.name,
            elapsed=env.slow_tool_after,
            notice=env.slow_tool_notice,
        )
    )
    if env.speaker is not None and env.slow_tool_notice:
        await env.speaker(env.slow_tool_notice)


async def _run_call(
    env: TurnEnv,
    entry: _Call,
    allow_tools: bool,
    emit: Emit,
    window: list[float],
    notices: set[str],
) -> None:
    """Validate, approve and run one tool call; never raises except cancellation."""
    call = entry.call
    tool = env.registry.get(call.name)
    result: ToolResult | None = None
    values: dict[str, Any] = {}
    if tool is None:
        result = ToolResult(
            content=f"Unknown tool {call.name!r}. Available tools: "
            + ", ".join(t.name for t in env.registry),
            is_error=True,
            error_kind="unknown_tool",
        )
    elif not allow_tools:
        result = ToolResult(
            content=f"Not run: this turn reached its limit of {env.settings.max_tool_rounds} "
            "tool rounds. Answer the user with what you have.",
            is_error=True,
            error_kind="cancelled",
        )
    else:
        try:
            values = tool.validate(call.arguments)
        except ToolArgumentsError as exc:
            result = ToolResult(
                content=env.registry.cap(str(exc), tool), is_error=True, error_kind=exc.kind
            )
    shown = display_arguments(call.arguments)
    if tool is not None and result is None and tool.confirm:
        request = ApprovalRequest(
            call_id=call.id,
            tool_name=tool.name,
            arguments=shown,
            question=format_question(tool.name, shown),
        )
        try:
            approved = await env.approval(request)
        except Exception as exc:  # a broken approval callback must not run the tool
            logger.warning("approval callback failed: %s", exc)
            approved = False
        if not approved:
            result = ToolResult(
                content=denial_message(tool.name), is_error=True, error_kind="denied"
            )
    if tool is not None and result is None:
        await emit(ToolCallStarted(call_id=call.id, name=call.name, arguments=shown))
        window.append(env.clock())
        ctx = RunContext(
            deps=env.deps, conversation=env.conversation, audio=_last_audio(env.conversation)
        )
        async with anyio.create_task_group() as tg:
            if env.slow_tool_after is not None:
                tg.start_soon(_notice_when_slow, env, call, emit, notices)
            result = await env.registry.call(tool, values, ctx)
            tg.cancel_scope.cancel()
        window.append(env.clock())
    assert result is not None
    entry.result = result
    await emit(
        ToolCallFinished(
            call_id=call.id,
            name=call.name,
            result=result.content,
            is_error=result.is_error,
            duration=result.duration_s,
        )
    )


def _last_audio(conv: Conversation) -> AudioClip | None:
    from voxagent.conversation import UserTurn

    for turn in reversed(conv.turns):
        if isinstance(turn, UserTurn):
            return turn.audio
    return None
