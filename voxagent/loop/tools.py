"""A round's tool calls: each one resolved, approved and run, then all recorded with the answer.

Every call the model made gets a recorded result, whatever happened: refused
(`ToolRegistry.prepare`:
cut off, unknown, over the round limit, invalid arguments), denied, reused from a speculation,
run, or cancelled by a barge-in or a failed request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
from pydantic_core import to_jsonable_python

from voxagent import telemetry
from voxagent.approval import ApprovalRequest, Denied, denial_message, format_question
from voxagent.conversation import UserTurn
from voxagent.events import (
    AssistantMessage,
    ConfirmationRequested,
    ErrorEvent,
    Event,
    ToolCallFinished,
    ToolCallStarted,
    ToolStillRunning,
)
from voxagent.loop.speculation import ReadOnlyResults
from voxagent.loop.state import Emit, TurnEnv, _Call, _Round, _Stats
from voxagent.results import ToolCallRecord
from voxagent.text import clean_text
from voxagent.tools import RunContext, ToolResult
from voxagent.tools.invoke import is_async_callable
from voxagent.tools.registry import Runnable

if TYPE_CHECKING:
    from voxagent.audio.clip import AudioClip
    from voxagent.client.types import ToolCall
    from voxagent.conversation import Conversation

__all__ = ["ABANDONED_RESULT", "CANCELLED_RESULT", "FAILED_RESULT", "record_round", "run_call"]

logger = logging.getLogger("voxagent.agent")

CANCELLED_RESULT = "Cancelled before it finished: the user interrupted."
FAILED_RESULT = "Not finished: the request to the model failed before this call completed."
# A plain `def` tool runs in a worker thread that Python cannot stop: say what is true.
ABANDONED_RESULT = (
    "Stopped waiting: the user interrupted. The tool was already running and may still complete."
)


def record_round(
    env: TurnEnv, outcome: _Round, stats: _Stats, error: Exception | None
) -> list[Event]:
    """Record the round in the conversation; return the events that report it, in order.

    Synchronous on purpose: it cannot be interrupted between the assistant message and its
    tool results, and it never waits for whoever consumes the events.
    """
    response = outcome.response
    if response is not None:
        if response.usage is not None:
            stats.usage = stats.usage + response.usage
        if response.admission_s is not None:
            stats.admission_s = (stats.admission_s or 0.0) + response.admission_s
        if not outcome.text and response.text:
            outcome.parts[:] = [clean_text(response.text)]
        # Calls the stream announced only at the end (or a non-stream answer) are all dispatched
        # by now; a call in the final message we never saw would be a client bug, not a model one.
    text = outcome.text
    calls = sorted(outcome.calls, key=lambda c: c.index)
    if not text and not calls:
        return []
    assistant = env.conversation.add_assistant(text or None, [c.call for c in calls])
    events: list[Event] = [AssistantMessage(text=text)] if text else []
    for entry, stored in zip(calls, assistant.tool_calls, strict=True):
        result = entry.result
        if result is None:
            if error is not None:
                content = FAILED_RESULT
            elif entry.started and entry.sync_tool:
                content = ABANDONED_RESULT
            else:
                content = CANCELLED_RESULT
            result = ToolResult(content=content, is_error=True, error_kind="cancelled")
            entry.result = result
        env.conversation.add_tool_result(
            stored.id, stored.name, result.content, is_error=result.is_error
        )
        stats.records.append(
            ToolCallRecord(
                call_id=stored.id, name=stored.name, arguments=stored.arguments, result=result
            )
        )
        events.append(
            ToolCallFinished(
                call_id=stored.id,
                name=stored.name,
                result=result.content,
                is_error=result.is_error,
                duration=result.duration_s,
                error_kind=result.error_kind,
            )
        )
    return events


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """The validated values as JSON-ready data (what the tool will receive, for people)."""
    shown = to_jsonable_python(values, fallback=repr)
    return shown if isinstance(shown, dict) else {}


async def _notice_when_slow(env: TurnEnv, call: ToolCall, emit: Emit, notices: set[str]) -> None:
    """Fill the silence once per round when a tool runs long (the user hears something)."""
    if env.slow_tool_after is None:
        return
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
        try:
            # Queued with the turn's speech (spoken, and traced, by voxagent.live.speech_out).
            await env.speaker(env.slow_tool_notice)
        except Exception as exc:  # the notice is a courtesy: never let it break the tool's round
            logger.warning("the speaker failed to say the slow-tool notice: %s", exc)
            await emit(ErrorEvent.from_exception(exc, prefix="the speaker failed"))


async def run_call(
    env: TurnEnv,
    entry: _Call,
    allow_tools: bool,
    emit: Emit,
    window: list[float],
    notices: set[str],
    interrupt: Callable[[BaseException], None],
    reuse: ReadOnlyResults | None = None,
) -> None:
    """Validate, approve and run one tool call; never raises except cancellation."""
    call = entry.call
    prepared = env.registry.prepare(
        call.name,
        call.arguments,
        truncated=entry.truncated,
        round_limit=None if allow_tools else env.max_tool_rounds,
    )
    result: ToolResult | None = None if isinstance(prepared, Runnable) else prepared
    tool = prepared.tool if isinstance(prepared, Runnable) else None
    values: dict[str, Any] = prepared.values if isinstance(prepared, Runnable) else {}
    # People see exactly the validated values the tool will receive (a double-encoded JSON
    # string, for one, parses to different values than its raw text shows).
    shown = _shown(values) if tool is not None and result is None else {}
    if tool is not None and result is None and tool.confirm:
        request = ApprovalRequest(
            call_id=call.id,
            tool_name=tool.name,
            arguments=shown,
            question=format_question(tool.name, shown),
        )
        # Every approval is announced, whoever gives it (voice, a callback, a policy), so an
        # event stream tells the whole story of a call that does not run.
        await emit(
            ConfirmationRequested(
                call_id=request.call_id,
                name=request.tool_name,
                arguments=request.arguments,
                question=request.question,
            )
        )
        try:
            approved = await env.approval(request)
        except Exception as exc:  # a broken approval callback must not run the tool
            logger.warning("approval callback failed: %s", exc)
            approved = Denied(f"the approval callback failed ({type(exc).__name__})")
        if not approved:
            result = ToolResult(
                content=denial_message(tool.name, approved), is_error=True, error_kind="denied"
            )
    if tool is not None and result is None:
        reused: ToolResult | None = None
        if reuse is not None and tool.read_only and not tool.confirm:
            # The same read-only call already ran while the turn was speculative.
            reused = await reuse.take(ReadOnlyResults.key(tool.name, values))
        await emit(
            ToolCallStarted(
                call_id=call.id, name=call.name, arguments=shown, speculative=reused is not None
            )
        )
        if reused is not None:
            entry.result = reused
            return
        entry.started = True
        entry.sync_tool = not is_async_callable(tool.function)
        window.append(env.clock())
        ctx = RunContext(
            deps=env.deps, conversation=env.conversation, audio=_last_audio(env.conversation)
        )
        async with anyio.create_task_group() as tg:
            if env.slow_tool_after is not None:
                tg.start_soon(_notice_when_slow, env, call, emit, notices)
            try:
                result = await telemetry.traced_tool_call(env.registry, tool, values, ctx, call.id)
            except (KeyboardInterrupt, SystemExit) as exc:
                result = ToolResult(
                    content=f"Interrupted: the program is stopping ({type(exc).__name__}).",
                    is_error=True,
                    error_kind="cancelled",
                )
                interrupt(exc)
            tg.cancel_scope.cancel()
        window.append(env.clock())
    assert result is not None
    # Reported by the round once it is recorded in the conversation.
    entry.result = result


def _last_audio(conv: Conversation) -> AudioClip | None:
    for turn in reversed(conv.turns):
        if isinstance(turn, UserTurn):
            return turn.audio
    return None
