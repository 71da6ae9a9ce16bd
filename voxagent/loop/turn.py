"""The agent loop: one user turn, from the first model request to the final answer.

`run_turn` is the only loop in voxagent; `Agent.ask` and `Agent.listen` both call it. Each model
request is one `_round`: it streams (or fetches) the assistant message, starts every tool call as
soon as its arguments are complete, waits for the tools, and records the assistant message and the
tool results in the conversation. The loop then decides with `match` whether to answer or go again.

Whatever happens (a tool fails, the server breaks mid-stream, the user barges in and the turn is
cancelled) the conversation is left valid: every tool call that was made gets a recorded result.
Results are recorded before the events that report them go out, and emitting never happens
inside the recording: a slow consumer can delay what it sees, never what is recorded.

A call whose arguments were cut off (the answer hit `max_tokens`) is never run: the model is
told it was cut off, the user gets an `ErrorEvent` with the hint to raise `max_tokens`.

A turn may come with a `Speculation` (a request sent at a pause, before the end of the turn was
decided): when the first request the turn would send is exactly that one, its buffered answer is
used instead of sending it again, and `read_only` calls it already ran are not run twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import anyio

from voxagent.aio import closing_stream, unwrap_group
from voxagent.client.sse import arguments_complete
from voxagent.client.types import StreamDone, StreamItem, TextDelta, ToolCall, ToolCallReady
from voxagent.conversation import UserTurn
from voxagent.errors import ConversationError
from voxagent.events import (
    AssistantTextDelta,
    ErrorEvent,
    Event,
    SpeculationDiscarded,
    TurnCompleted,
    TurnStarted,
)
from voxagent.loop.state import (
    Emit,
    TurnEnv,
    TurnInput,
    _Call,
    _Round,
    _Stats,
    chat_request,
)
from voxagent.loop.tools import record_round, run_call
from voxagent.results import TurnResult
from voxagent.text import clean_text

if TYPE_CHECKING:
    from voxagent.conversation import Conversation
    from voxagent.loop.speculation import Speculation

__all__ = ["TurnEnv", "TurnInput", "run_turn"]

# How long an answer waits for the live caption's final text (the transcript of the turn it
# answers). The endpointer decides the end of speech ~0.5 s after it, and the final caption came
# 0.22 s after the end of speech (median of 5, tools/bench_realtime.py, tiny model on CPU), so
# it is usually there already; past this the answer goes on, the transcript attached later.
CAPTION_GRACE_S = 0.25
# Events a cancelled or failed round still reports (cancelled calls) get this long to go out.
_EMIT_AFTER_CANCEL_S = 0.5


async def run_turn(env: TurnEnv, user: TurnInput, turn_id: int, emit: Emit) -> TurnResult:
    """Run one user turn to completion and return its result.

    Errors from the model server propagate as typed `VoxagentError`s after the conversation has
    been left valid; cancellation propagates too (the caller decides what it means).
    """
    started = env.clock()
    conv = env.conversation
    if user.clip is not None and env.budget is not None:
        # A clip the context cannot hold would be refused by every later request (and saved with
        # every save): refuse it before it is recorded.
        conv.check_fits(
            env.budget, text=user.text, audio=user.clip, tools=env.registry.to_openai() or None
        )
    recorded = conv.add_user(text=user.text, audio=user.clip, transcript=user.transcript)
    pending = user.pending_transcript
    if pending is not None:
        pending.then(lambda text: _attach_transcript(conv, recorded, text))
    choice = user.tool_choice or env.settings.tool_choice
    prepared = _adopt(env, user.speculation, choice)
    adopted = user.speculation if prepared is not None else None
    await emit(
        TurnStarted(
            turn_id=turn_id,
            has_audio=user.clip is not None,
            text=user.text,
            speculative=prepared is not None,
        )
    )
    if user.speculation is not None and prepared is None:
        await emit(
            SpeculationDiscarded(
                at=user.speculation.at,
                reason="the request changed before the turn was confirmed",
                tools_run=tuple(user.speculation.tools_run),
            )
        )
    if env.prefetch_transcripts is not None:
        # Once per turn: transcripts for audio that compaction will soon need, fetched while the
        # model works (they are used by later requests, never waited for).
        env.prefetch_transcripts()
    stats = _Stats(reuse=user.speculation.results if user.speculation is not None else None)
    tool_rounds = 0
    limit_reached = False
    final_text = ""
    while True:
        allow_tools = tool_rounds < env.max_tool_rounds
        # Once calls were refused for the round limit (the model was told why in their
        # results), the last request forbids tools so the model must answer in text.
        outcome = await _round(
            env, "none" if limit_reached else choice, allow_tools, stats, emit, prepared
        )
        prepared = None  # a speculation answers the first request only
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
    if pending is not None and not pending.done.is_set():
        # The answer waits a moment for the live caption (the turn's transcript), never longer.
        with anyio.move_on_after(CAPTION_GRACE_S):
            await pending.done.wait()
    timings = dict(user.timings)
    if adopted is not None:
        # How long the request had been in flight when the end of the turn was decided.
        timings["speculation"] = max(0.0, started - adopted.sent_at)
    # `total` covers the user's wait from the moment the input was handed over: preparing the
    # audio (decoding, resampling) happened before this function started.
    total = env.clock() - started + user.timings.get("prepare", 0.0)
    timings.update(model=stats.model_s, tools=stats.tools_s, total=total)
    if stats.first_token_s is not None:
        timings["first_token"] = stats.first_token_s
    if stats.admission_s is not None:
        timings["admission"] = stats.admission_s  # waited for the process's request limit
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
                "cached_tokens": stats.usage.cached_tokens,
            },
        )
    )
    return result


def _adopt(
    env: TurnEnv, speculation: Speculation | None, tool_choice: str
) -> tuple[list[dict[str, Any]], Speculation] | None:
    """The turn's first request, when a speculation already sent exactly it."""
    if speculation is None:
        return None
    request = chat_request(env.settings, env.registry, env.conversation, tool_choice)
    messages = env.conversation.render(env.client.dialect, budget=env.budget, tools=request.tools)
    if speculation.matches(messages, request):
        return messages, speculation
    speculation.cancel()
    return None


def _attach_transcript(conv: Conversation, turn: Any, text: str) -> None:
    try:
        conv.set_transcript(turn, text)
    except ConversationError:
        pass  # the turn is no longer in the conversation (compacted or replaced): nothing to do


def _transcript_of_last_user(conv: Conversation) -> str | None:
    for turn in reversed(conv.turns):
        if isinstance(turn, UserTurn):
            return turn.transcript
    return None


async def _round(
    env: TurnEnv,
    tool_choice: str,
    allow_tools: bool,
    stats: _Stats,
    emit: Emit,
    prepared: tuple[list[dict[str, Any]], Speculation] | None = None,
) -> _Round:
    """One model request, its tool calls run, everything recorded in the conversation.

    With `prepared` (the messages and the speculation that already sent them), the
    speculation's answer is used instead of a new request.
    """
    request = chat_request(env.settings, env.registry, env.conversation, tool_choice)
    speculation: Speculation | None = None
    if prepared is not None:
        messages, speculation = prepared
    else:
        messages = env.conversation.render(
            env.client.dialect, budget=env.budget, tools=request.tools
        )
    outcome = _Round()
    request_started = env.clock()
    tools_window: list[float] = []
    notices: set[str] = set()
    stats.rounds += 1
    error: Exception | None = None
    try:
        async with anyio.create_task_group() as tg:

            def interrupt(exc: BaseException) -> None:
                # Raised out of a task, KeyboardInterrupt would unwind the event loop itself;
                # stop the round instead, record it, then raise it from the turn's own task.
                outcome.interrupt = outcome.interrupt or exc
                tg.cancel_scope.cancel()

            def dispatch(index: int, call: ToolCall, truncated: bool = False) -> None:
                entry = _Call(index=index, call=call, truncated=truncated)
                outcome.calls.append(entry)
                tg.start_soon(
                    run_call,
                    env,
                    entry,
                    allow_tools,
                    emit,
                    tools_window,
                    notices,
                    interrupt,
                    stats.reuse,
                )

            try:
                if env.settings.stream:
                    items = (
                        speculation.replay()
                        if speculation is not None
                        else env.client.stream_chat(messages, **request.arguments())
                    )
                    await _consume_stream(env, items, outcome, stats, emit, dispatch)
                else:
                    response = await (
                        speculation.response()
                        if speculation is not None
                        else env.client.chat(messages, **request.arguments())
                    )
                    outcome.response = response
                    outcome.parts.append(clean_text(response.text or ""))
                    cut = response.finish_reason == "length"
                    for index, call in enumerate(response.tool_calls):
                        dispatch(index, call, cut and not arguments_complete(call.arguments))
            except Exception as exc:  # a failed request: stop the tools, record, then re-raise
                error = exc
                tg.cancel_scope.cancel()
            stats.model_s += env.clock() - request_started
    except BaseException as exc:
        # Cancelled (barge-in), or a tool raised KeyboardInterrupt/SystemExit. Record first,
        # synchronously: nothing can come between the turn's outcome and the conversation.
        # Then say briefly what became of each call, and let the interruption go on as itself.
        finished = record_round(env, outcome, stats, error)
        with anyio.move_on_after(_EMIT_AFTER_CANCEL_S, shield=True):
            await _emit_all(emit, finished)
        leaf = unwrap_group(exc)
        if leaf is exc:
            raise
        raise leaf from None
    await _emit_all(emit, record_round(env, outcome, stats, error))
    if outcome.interrupt is not None:
        raise outcome.interrupt
    if tools_window:
        stats.tools_s += max(tools_window) - min(tools_window)
    cut = outcome.response is not None and outcome.response.finish_reason == "length"
    if any(c.truncated for c in outcome.calls) or (
        cut and not outcome.calls and tool_choice not in ("auto", "none")
    ):
        # A text answer cut at max_tokens is the user's choice; a tool call cut there is broken
        # JSON the model never meant, worth saying. A complete call that happens to end at
        # max_tokens ran normally and is not reported.
        await emit(
            ErrorEvent(
                message="The model's answer was cut off at max_tokens inside a tool call; "
                "the call was not run.",
                error_type="AnswerTruncated",
                hint="raise max_tokens (a tool call needs room for its JSON arguments)",
            )
        )
    if error is not None:
        raise error
    return outcome


async def _emit_all(emit: Emit, events: list[Event]) -> None:
    for event in events:
        await emit(event)


async def _consume_stream(
    env: TurnEnv,
    stream: AsyncIterator[StreamItem],
    outcome: _Round,
    stats: _Stats,
    emit: Emit,
    dispatch: Callable[[int, ToolCall, bool], None],
) -> None:
    """Read a streamed answer: text deltas out as events, each tool call dispatched when ready."""
    started = env.clock()
    # aclosing: a stream left early (error, cancellation) frees its connection at once.
    async with closing_stream(stream) as items:
        async for item in items:
            match item:
                case TextDelta(text=text):
                    if stats.first_token_s is None:
                        stats.first_token_s = env.clock() - started
                    # Clean where it enters: a lone surrogate must not reach a consumer's
                    # encoder (the conversation cleans what it records too).
                    text = clean_text(text)
                    outcome.parts.append(text)
                    await emit(AssistantTextDelta(text=text))
                case ToolCallReady(index=index, call=call, truncated=truncated):
                    dispatch(index, call, truncated)
                case StreamDone(response=response):
                    outcome.response = response
