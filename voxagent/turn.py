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

import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from pydantic_core import to_jsonable_python

from voxagent import telemetry
from voxagent.approval import (
    Approval,
    ApprovalRequest,
    Denied,
    denial_message,
    format_question,
)
from voxagent.client.sse import arguments_complete
from voxagent.client.types import (
    ChatResponse,
    StreamDone,
    StreamItem,
    TextDelta,
    ToolCall,
    ToolCallReady,
    Usage,
)
from voxagent.errors import ConversationError
from voxagent.events import (
    AssistantMessage,
    AssistantTextDelta,
    ConfirmationRequested,
    ErrorEvent,
    Event,
    SpeculationDiscarded,
    ToolCallFinished,
    ToolCallStarted,
    ToolStillRunning,
    TurnCompleted,
    TurnStarted,
)
from voxagent.results import ToolCallRecord, TurnResult
from voxagent.speculation import ReadOnlyResults, Speculation
from voxagent.text import clean_text
from voxagent.tools import RunContext, ToolArgumentsError, ToolRegistry, ToolResult
from voxagent.tools.invoke import is_async_callable

if TYPE_CHECKING:
    from voxagent.audio.clip import AudioClip
    from voxagent.captions import PendingTranscript
    from voxagent.client import ModelClient
    from voxagent.conversation import Budget, Conversation

__all__ = [
    "ModelSettings",
    "TurnEnv",
    "TurnInput",
    "request_options",
    "run_turn",
    "unwrap_group",
]

logger = logging.getLogger("voxagent.agent")

Emit = Callable[[Event], Awaitable[None]]

CANCELLED_RESULT = "Cancelled before it finished: the user interrupted."
FAILED_RESULT = "Not finished: the request to the model failed before this call completed."
# A plain `def` tool runs in a worker thread that Python cannot stop: say what is true.
ABANDONED_RESULT = (
    "Stopped waiting: the user interrupted. The tool was already running and may still complete."
)
TRUNCATED_RESULT = (
    "Not run: your answer was cut off at max_tokens before this call's arguments were complete. "
    "Call it again with complete arguments, or answer in text."
)
# How long an answer waits for the live caption's final text (the transcript of the turn it
# answers). The endpointer decides the end of speech ~0.5 s after it, and the final caption came
# 0.22 s after the end of speech (median of 5, tools/bench_realtime.py, tiny model on CPU), so
# it is usually there already; past this the answer goes on, the transcript attached later.
CAPTION_GRACE_S = 0.25
# Events a cancelled or failed round still reports (cancelled calls) get this long to go out.
_EMIT_AFTER_CANCEL_S = 0.5


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
    """One user turn as the loop receives it (audio already encoded for the model).

    Attributes:
        speculation: The request already sent for this input at a pause, if any; used when it
            is exactly the turn's first request, cancelled otherwise.
    """

    text: str | None = None
    clip: AudioClip | None = None
    transcript: str | None = None
    pending_transcript: PendingTranscript | None = None
    tool_choice: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    speculation: Speculation | None = None


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
    truncated: bool = False
    result: ToolResult | None = None
    started: bool = False
    sync_tool: bool = False


@dataclass(slots=True)
class _Round:
    """What one model request produced."""

    parts: list[str] = field(default_factory=list)  # streamed text, joined once (linear)
    calls: list[_Call] = field(default_factory=list)
    response: ChatResponse | None = None
    interrupt: BaseException | None = None  # KeyboardInterrupt/SystemExit a tool raised

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass(slots=True)
class _Stats:
    usage: Usage = field(default_factory=Usage)
    model_s: float = 0.0
    tools_s: float = 0.0
    first_token_s: float | None = None
    admission_s: float = 0.0
    rounds: int = 0
    records: list[ToolCallRecord] = field(default_factory=list)
    # Results of read-only calls a speculation ran, for this turn's identical calls.
    reuse: ReadOnlyResults | None = None


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
        allow_tools = tool_rounds < env.settings.max_tool_rounds
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
    if env.client.admission is not None:
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


def request_options(
    settings: ModelSettings,
    specs: list[dict[str, Any]] | None,
    tool_choice: str,
    session: str | None = None,
) -> dict[str, Any]:
    """The options of a chat request (everything but the messages), as the loop sends them.

    `session` is the conversation's session key (sent so a router keeps it on one replica).
    """
    return {
        "tools": specs,
        "tool_choice": tool_choice if specs else None,
        "parallel_tool_calls": settings.parallel_tool_calls,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "max_tokens": settings.max_tokens,
        "seed": settings.seed,
        "session": session,
    }


def _adopt(
    env: TurnEnv, speculation: Speculation | None, tool_choice: str
) -> tuple[list[dict[str, Any]], Speculation] | None:
    """The turn's first request, when a speculation already sent exactly it."""
    if speculation is None:
        return None
    specs = env.registry.to_openai() or None
    messages = env.conversation.render(env.client.dialect, budget=env.budget, tools=specs)
    options = request_options(env.settings, specs, tool_choice, env.conversation.session_key)
    if speculation.matches(messages, options):
        return messages, speculation
    speculation.cancel()
    return None


def _attach_transcript(conv: Conversation, turn: Any, text: str) -> None:
    try:
        conv.set_transcript(turn, text)
    except ConversationError:
        pass  # the turn is no longer in the conversation (compacted or replaced): nothing to do


def _transcript_of_last_user(conv: Conversation) -> str | None:
    from voxagent.conversation import UserTurn

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
    specs = env.registry.to_openai() or None
    speculation: Speculation | None = None
    if prepared is not None:
        messages, speculation = prepared
    else:
        messages = env.conversation.render(env.client.dialect, budget=env.budget, tools=specs)
    outcome = _Round()
    options = request_options(env.settings, specs, tool_choice, env.conversation.session_key)
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
                    _run_call,
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
                        else env.client.stream_chat(messages, **options)
                    )
                    await _consume_stream(env, items, outcome, stats, emit, dispatch)
                else:
                    response = await (
                        speculation.response()
                        if speculation is not None
                        else env.client.chat(messages, **options)
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
        finished = _record(env, outcome, stats, error)
        with anyio.move_on_after(_EMIT_AFTER_CANCEL_S, shield=True):
            await _emit_all(emit, finished)
        leaf = unwrap_group(exc)
        if leaf is exc:
            raise
        raise leaf from None
    await _emit_all(emit, _record(env, outcome, stats, error))
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


def unwrap_group(exc: BaseException) -> BaseException:
    """The one exception a user should see from a task group's failure.

    Tool tasks only ever raise cancellation or what a tool let through on purpose
    (KeyboardInterrupt, SystemExit); the group around them is an implementation detail.
    """
    if not isinstance(exc, BaseExceptionGroup):
        return exc
    leaves: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)
        else:
            leaves.append(item)
    cancelled = anyio.get_cancelled_exc_class()
    for kind in (KeyboardInterrupt, SystemExit):
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    others = [leaf for leaf in leaves if not isinstance(leaf, cancelled)]
    return others[0] if others else leaves[0] if leaves else exc


async def _emit_all(emit: Emit, events: list[Event]) -> None:
    for event in events:
        await emit(event)


async def _consume_stream(
    env: TurnEnv,
    stream: AsyncGenerator[StreamItem, None],
    outcome: _Round,
    stats: _Stats,
    emit: Emit,
    dispatch: Callable[[int, ToolCall, bool], None],
) -> None:
    """Read a streamed answer: text deltas out as events, each tool call dispatched when ready."""
    started = env.clock()
    # aclosing: a stream left early (error, cancellation) frees its connection at once.
    async with contextlib.aclosing(stream) as items:
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


def _record(env: TurnEnv, outcome: _Round, stats: _Stats, error: Exception | None) -> list[Event]:
    """Record the round in the conversation; return the events that report it, in order.

    Synchronous on purpose: it cannot be interrupted between the assistant message and its
    tool results, and it never waits for whoever consumes the events.
    """
    response = outcome.response
    if response is not None:
        if response.usage is not None:
            stats.usage = stats.usage + response.usage
        stats.admission_s += response.admission_s
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
            # Queued with the turn's speech (spoken, and traced, by voxagent.speech_out).
            await env.speaker(env.slow_tool_notice)
        except Exception as exc:  # the notice is a courtesy: never let it break the tool's round
            logger.warning("the speaker failed to say the slow-tool notice: %s", exc)
            await emit(ErrorEvent.from_exception(exc, prefix="the speaker failed"))


async def _run_call(
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
    tool = env.registry.get(call.name)
    result: ToolResult | None = None
    values: dict[str, Any] = {}
    if entry.truncated:
        result = ToolResult(content=TRUNCATED_RESULT, is_error=True, error_kind="truncated")
    elif tool is None:
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
    from voxagent.conversation import UserTurn

    for turn in reversed(conv.turns):
        if isinstance(turn, UserTurn):
            return turn.audio
    return None
