"""Run a suite: every case, take and perturbation, in one or both columns, a few at a time.

Each run (case x take x perturbation x column, planned by `voxagent.eval.plan`) gets a fresh
agent: the app file is imported again (fresh `deps`, fresh conversation), so cases cannot leak
state into each other and runs can go in parallel. Audio is read, perturbed and encoded once per
run and shared by both columns (`voxagent.eval.clips`); noise is drawn from a generator seeded
by (seed, case, take, perturbation, turn), so results do not depend on the order runs finish
in. Outcomes come back in suite order.

The cascade column transcribes each audio turn with the same server's
`/v1/audio/transcriptions` and sends the text (plus the turn's typed text) to the same agent;
its first_token, tool_start and total are measured from the start of the transcription, which
is what its user waits for.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
from pydantic_core import to_jsonable_python

from voxagent.aio import unwrap_group
from voxagent.errors import AudioError, ConfigurationError, VoxagentError
from voxagent.eval.clips import Prepared, endpointing_wait, perturbed_samples, run_seed
from voxagent.eval.dry import dry_registry
from voxagent.eval.outcomes import ActualCall, TurnOutcome
from voxagent.eval.plan import EvalOptions, Progress, RunPlan, plan_runs
from voxagent.events import ErrorEvent, Event, ToolCallStarted
from voxagent.interfaces import Transcriber
from voxagent.jsonsafe import loads_bounded
from voxagent.tools import ToolArgumentsError

if TYPE_CHECKING:
    from voxagent.agent import Agent
    from voxagent.eval.suite import Suite, Turn
    from voxagent.results import TurnResult
    from voxagent.tools import ToolRegistry

__all__ = ["run_suite"]

_import_lock = threading.Lock()


def _actual(registry: ToolRegistry, name: str, raw: str) -> ActualCall:
    tool = registry.get(name)
    if tool is not None:
        try:
            values = tool.validate(raw)
            return ActualCall(name, to_jsonable_python(values, fallback=repr), True)
        except ToolArgumentsError:
            pass
    try:
        parsed: Any = loads_bounded(raw) if raw.strip() else {}
    except ValueError:
        parsed = raw
    return ActualCall(name, parsed, False)


class _Runner:
    def __init__(self, suite: Suite, options: EvalOptions) -> None:
        self.suite = suite
        self.options = options

    async def agent(self) -> Agent[Any]:
        def load() -> Agent[Any]:
            with _import_lock:  # sys.path and sys.modules are shared
                return self.options.load_app(self.options.app)

        agent = await anyio.to_thread.run_sync(load)
        o = self.options
        if o.base_url:
            agent.base_url = o.base_url
        if o.model:
            agent.model = o.model
        changes: dict[str, Any] = {"temperature": o.temperature, "seed": o.seed}
        if o.max_tokens is not None:
            changes["max_tokens"] = o.max_tokens
        if o.tool_choice is not None:
            changes["tool_choice"] = o.tool_choice
        if o.request_timeout is not None:
            changes["timeout"] = o.request_timeout
        agent.settings = agent.settings.replace(**changes)
        # An eval measures choices, not speech out or live captions.
        agent.voice = agent.voice.replace(speaker=None, live_transcriber=None)
        if o.dry_tools:
            agent.registry, _ = dry_registry(agent.registry, o.dry_results)
        return agent

    async def clips(self, plan: RunPlan, agent: Agent[Any]) -> dict[int, Prepared | AudioError]:
        from voxagent.audio.ingest import clip_from_samples  # lazy: soundfile, with the first take

        prepared: dict[int, Prepared | AudioError] = {}
        for turn in plan.case.turns:
            if not turn.takes:
                continue
            path = turn.takes[plan.take if len(turn.takes) > 1 else 0]
            seed = run_seed(
                self.options.seed, plan.case.id, plan.take, plan.variant_index, turn.index
            )
            try:
                samples = await anyio.to_thread.run_sync(
                    perturbed_samples, path, plan.variant, seed, self.options.noise
                )
                clip = await anyio.to_thread.run_sync(clip_from_samples, samples, 16000)
                prepared[turn.index] = Prepared(clip, await endpointing_wait(samples, agent))
            except AudioError as exc:
                prepared[turn.index] = exc
        return prepared

    async def run(self, plan: RunPlan) -> list[TurnOutcome]:
        outcomes: list[TurnOutcome] = []
        clips: dict[int, Prepared | AudioError] | None = None
        for column in self.options.columns:
            try:
                agent = await self.agent()
                if clips is None:
                    clips = await self.clips(plan, agent)
                outcomes += await self.column(plan, column, agent, clips)
            except Exception as exc:
                # The agent could not start (the server, the app): every turn of this column
                # is an error outcome, and the other runs go on.
                message = exc.message if isinstance(exc, VoxagentError) else f"{exc}"
                message = message or type(exc).__name__
                outcomes += [
                    self.outcome(plan, column, turn, error=message) for turn in plan.case.turns
                ]
        return outcomes

    def outcome(self, plan: RunPlan, column: str, turn: Turn, **fields: Any) -> TurnOutcome:
        take_name = plan.case.take_names[plan.take]
        tags = [*plan.case.tags, f"perturb={plan.variant.label}"]
        if take_name:
            tags.append(f"take={take_name}")
        audio = turn.takes[plan.take if len(turn.takes) > 1 else 0] if turn.takes else None
        return TurnOutcome(
            run_id=plan.run_id,
            case_id=plan.case.id,
            column=column,
            turn=turn.index,
            take=take_name,
            variant=plan.variant.label,
            tags=tuple(tags),
            audio=str(audio) if audio is not None else None,
            text=turn.text,
            expect=turn.expect,
            **fields,
        )

    async def column(
        self,
        plan: RunPlan,
        column: str,
        agent: Agent[Any],
        clips: dict[int, Prepared | AudioError],
    ) -> list[TurnOutcome]:
        outcomes: list[TurnOutcome] = []
        async with agent:
            for turn in plan.case.turns:
                prepared = clips.get(turn.index)
                if isinstance(prepared, AudioError):
                    outcomes.append(self.outcome(plan, column, turn, error=prepared.message))
                    continue
                try:
                    outcomes.append(await self.turn(plan, column, agent, turn, prepared))
                except VoxagentError as exc:
                    outcomes.append(self.outcome(plan, column, turn, error=exc.message))
        return outcomes

    async def turn(
        self,
        plan: RunPlan,
        column: str,
        agent: Agent[Any],
        turn: Turn,
        prepared: Prepared | None,
    ) -> TurnOutcome:
        clock = anyio.current_time
        seen: dict[str, float] = {}
        notes: list[str] = []
        started = clock()

        def on_event(event: Event) -> None:
            if isinstance(event, ToolCallStarted) and "tool_start" not in seen:
                seen["tool_start"] = clock() - started
            elif isinstance(event, ErrorEvent):
                notes.append(event.error_type)

        timings: dict[str, float] = {}
        transcript = None
        if prepared is not None and prepared.endpointing is not None:
            timings["endpointing"] = prepared.endpointing
        choice = turn.tool_choice
        if column == "cascade" and prepared is not None:
            # Speech runs at about 3 tokens a second; leave room, but never let junk run long.
            budget = max(64, min(int(prepared.clip.duration_s * 8), 4096))
            # The agent's own transcriber when it has one (behind vllm-router, a replica).
            transcriber = agent.voice.transcriber or agent.client
            if not isinstance(transcriber, Transcriber):
                raise ConfigurationError(
                    "the cascade column needs a model that transcribes",
                    hint="use a ModelClient (a Voxtral server) for the cascade column, or give "
                    "the agent VoiceSettings(transcriber=...)",
                )
            transcript = await transcriber.transcribe(
                prepared.clip, language=plan.case.language, max_completion_tokens=budget
            )
            timings["transcribe"] = clock() - started
            text = "\n\n".join(t for t in (transcript.strip(), turn.text or "") if t)
            if not text:
                notes.append("EmptyTranscript")
                timings["total"] = clock() - started
                return self.outcome(
                    plan, column, turn, transcript=transcript, timings=timings, notes=tuple(notes)
                )
            result = await agent.ask(text=text, tool_choice=choice, on_event=on_event)
        else:
            clip = prepared.clip if prepared is not None else None
            result = await agent.ask(
                audio=clip, text=turn.text, tool_choice=choice, on_event=on_event
            )
        return self.finished(plan, column, agent, turn, result, timings, seen, notes, transcript)

    def finished(
        self,
        plan: RunPlan,
        column: str,
        agent: Agent[Any],
        turn: Turn,
        result: TurnResult,
        timings: dict[str, float],
        seen: dict[str, float],
        notes: list[str],
        transcript: str | None,
    ) -> TurnOutcome:
        offset = timings.get("transcribe", 0.0)
        if "first_token" in result.timings:
            timings["first_token"] = offset + result.timings["first_token"]
        timings.update(seen)
        timings["total"] = offset + result.timings.get("total", 0.0)
        calls = tuple(_actual(agent.registry, r.name, r.arguments) for r in result.tool_calls)
        usage = {
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "total_tokens": result.usage.total_tokens,
        }
        return self.outcome(
            plan,
            column,
            turn,
            calls=calls,
            answer=result.text,
            transcript=transcript,
            timings=timings,
            usage=usage,
            notes=tuple(notes),
        )


async def run_suite(
    suite: Suite, options: EvalOptions, progress: Progress | None = None
) -> list[TurnOutcome]:
    """Run every planned run of `suite`; return every turn's outcome, in suite order.

    A failed turn (the server, unreadable audio) is an outcome with `error` set, scored as
    wrong; the run goes on.
    """
    plans = plan_runs(suite, options.variants)
    results: list[list[TurnOutcome]] = [[] for _ in plans]
    queue = iter(enumerate(plans))  # shared by the workers: each run is taken exactly once
    runner = _Runner(suite, options)
    done = 0
    stopped: list[BaseException] = []

    async def worker(tg: anyio.abc.TaskGroup) -> None:
        nonlocal done
        for index, plan in queue:
            try:
                results[index] = await runner.run(plan)
            except (KeyboardInterrupt, SystemExit) as exc:
                # A tool let it through on purpose. Raised out of a task, asyncio would unwind
                # the event loop itself: stop the other runs, raise it from the caller's task.
                stopped.append(exc)
                tg.cancel_scope.cancel()
                return
            done += 1
            if progress is not None:
                progress(done, len(plans), plan.run_id)

    try:
        # `concurrency` workers, not a task per run: a suite of 100,000 runs holds 4 tasks.
        async with anyio.create_task_group() as tg:
            for _ in range(min(options.concurrency, len(plans))):
                tg.start_soon(worker, tg)
    except BaseExceptionGroup as group:
        # Only a cancellation or what a tool let through could get here: raise it as itself.
        raise unwrap_group(group) from None
    if stopped:
        raise stopped[0]
    return [outcome for run in results for outcome in run]
