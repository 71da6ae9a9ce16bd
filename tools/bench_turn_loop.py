"""What speculation buys through the whole live loop, on real human speech (issue 13).

    python tools/bench_turn_loop.py               # 4 configs x 25 turns, ~10 min, prints markdown
    python tools/bench_turn_loop.py --json out.json --latencies 0 0.15 --tail 2.5

`tools/bench_turn_taking.py` measures the endpointer alone; this runs `Agent.listen`: each labelled
turn of the `tools/real_speech.py` corpus is played as a live source (`ArraySource(realtime=True)`,
20 ms frames paced at the audio's speed; kept up to `--tail` s after the true end) into a fresh
agent with the default Smart Turn detector and `VoiceSettings(speculate=True | False)`. The model
is the in-process `FunctionModel` (validation off: it stands for a server whose own cost is the
latency given): after `latency` s it answers a new turn with two parallel calls, one to a
`@tool(read_only=True)` tool (may run during speculation, result reused), one to a tool with side
effects (held until the turn is confirmed); and their results, after `latency` again, with text.

Time is stream time: the source paces frame k to be handed over at origin + its end, origin being
its pacing clock's first reading, which the probe keeps; every moment is read from that same
event-loop clock and mapped as `wall - origin`. The error is the pacing jitter (how late a frame
that was asked for in time came), reported; frames asked for late (the loop was busy, e.g. in a
Smart Turn call) are counted apart. Turns split before their true end, or cancelled by speech
heard after it, are reported apart.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tools"))  # its sibling turn_loop_report

import turn_loop_report as report  # noqa: E402
from turn_loop_report import Config  # noqa: E402

import voxagent.events as ev  # noqa: E402
from voxagent import Agent, RunContext, VoiceSettings, tool  # noqa: E402
from voxagent.audio import ArraySource  # noqa: E402
from voxagent.audio.sources import Frame  # noqa: E402
from voxagent.audio.turn_detector import default_detector  # noqa: E402
from voxagent.testing import FunctionModel, Reply, ScriptedCall, ScriptedRequest  # noqa: E402


def _load(name: str) -> Any:
    """A sibling script as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


turn_taking = _load("bench_turn_taking")  # its corpus, labels and scoring
real_speech = turn_taking.real_speech
RATE: int = turn_taking.RATE
TOLERANCE_S: float = turn_taking.TOLERANCE_S


@dataclass
class Probe:
    """Everything one scene under one config did, in event-loop seconds (`anyio.current_time`)."""

    origin: float | None = None  # the source's first pacing reading: stream time 0
    jitter: list[float] = field(default_factory=list)  # frames asked for before they were due
    backlog: list[float] = field(default_factory=list)  # frames asked for after (loop busy)
    requests: list[tuple[float, int]] = field(default_factory=list)  # (at, round 1 or 2)
    lookups: list[float] = field(default_factory=list)  # read-only tool bodies started
    switches: list[float] = field(default_factory=list)  # side-effect tool bodies started
    events: list[tuple[float, ev.Event]] = field(default_factory=list)  # as the consumer got them

    def clock(self) -> float:
        """The pacing clock: the event loop's, its first reading kept as the origin."""
        now = anyio.current_time()
        if self.origin is None:
            self.origin = now
        return now

    def stream(self, wall: float) -> float:
        """Stream seconds of a wall moment."""
        assert self.origin is not None
        return wall - self.origin


class LiveFrames:
    """A live source (a person speaking now) that also measures its own pacing error."""

    live = True

    def __init__(self, samples: np.ndarray, probe: Probe) -> None:
        self.inner = ArraySource(samples, RATE, realtime=True, clock=probe.clock)
        self.probe = probe

    async def _frames(self) -> AsyncIterator[Frame]:
        frames = aiter(self.inner)
        while True:
            asked = (
                self.probe.stream(anyio.current_time()) if self.probe.origin is not None else 0.0
            )
            try:
                frame = await anext(frames)
            except StopAsyncIteration:
                return
            # How late the frame came after its due time (origin + its end): pacing jitter when
            # it was asked for in time, else the time the loop spent elsewhere (a detector call).
            late = self.probe.stream(anyio.current_time()) - frame.end
            (self.probe.jitter if asked <= frame.end else self.probe.backlog).append(late)
            yield frame

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()


@tool(read_only=True)
async def lookup(ctx: RunContext[Probe], room: str) -> str:
    """Read a room's temperature (no side effects: may run while the turn is speculative).

    Args:
        room: Which room.
    """
    ctx.deps.lookups.append(anyio.current_time())
    return f"{room}: 21 C"


@tool
async def switch(ctx: RunContext[Probe], room: str, on: bool) -> str:
    """Switch a room's light (a side effect: runs only once the turn is confirmed).

    Args:
        room: Which room.
        on: True to switch on.
    """
    ctx.deps.switches.append(anyio.current_time())
    return f"{room} light {'on' if on else 'off'}"


def model(probe: Probe, latency: float) -> FunctionModel:
    """Both tools at once for a new turn, then text once their results are in."""

    def answer(request: ScriptedRequest) -> Reply:
        now = anyio.current_time()
        last = request["messages"][-1]["role"]
        probe.requests.append((now, 2 if last == "tool" else 1))
        if last == "tool":
            return Reply.text("The kitchen is at 21 C and its light is on.", delay=latency)
        lookup_call = ScriptedCall("lookup", {"room": "kitchen"})
        switch_call = ScriptedCall("switch", {"room": "kitchen", "on": True})
        return Reply.tool_calls(lookup_call, switch_call, delay=latency)

    return FunctionModel(answer, validate=False)


async def run_scene(samples: np.ndarray, config: Config) -> Probe:
    """Play one scene live into a fresh agent; keep every moment."""
    probe = Probe()
    agent = Agent(
        model(probe, config.latency),
        tools=[lookup, switch],
        deps=probe,
        voice=VoiceSettings(speculate=config.speculate),
    )
    async with agent, agent.listening(LiveFrames(samples, probe)) as events:
        async for event in events:
            probe.events.append((anyio.current_time(), event))
    return probe


def _decisions(probe: Probe) -> Any:
    """The endpointer's choices as the loop saw them (for `bench_turn_taking.score`)."""
    found = turn_taking.Decisions()
    pending: list[float] = []
    start = 0.0
    for wall, event in probe.events:
        at = probe.stream(wall)
        if isinstance(event, ev.SpeechStarted):
            start = event.at
        elif isinstance(event, ev.SpeechPaused):
            pending.append(at)
        elif isinstance(event, ev.SpeechResumed):
            found.candidates += [(p, True) for p in pending]
            pending = []
        elif isinstance(event, ev.SpeechEnded):
            found.ends.append(at)
            found.spans.append((start, event.at))
            found.candidates += [(p, False) for p in pending]
            pending = []
    return found


def measure(scene: Any, config: Config, probe: Probe, cut_at: float) -> Any:
    """One `TurnRecord` with the loop's columns in `extra` (stream seconds after the true end)."""
    record = turn_taking.score(config.name, scene, _decisions(probe))
    end: float = scene.speech_end
    over = ev.TurnCompleted | ev.TurnCancelled
    extra = record.extra
    events = [(probe.stream(wall), event) for wall, event in probe.events]
    discarded = [e for _, e in events if isinstance(e, ev.SpeculationDiscarded)]
    extra.update(
        sent=sum(isinstance(e, ev.SpeculationStarted) for _, e in events),
        wasted=len(discarded),
        reasons=[e.reason for e in discarded],
        runs_wasted=sum(len(e.tools_run) for e in discarded),
        turns=sum(isinstance(e, ev.TurnStarted) for _, e in events),
    )
    if record.decided_at is None:
        return record

    def first(start: int, test: Callable[[float, Any], bool]) -> int:
        return next(i for i in range(start, len(events)) if test(*events[i]))

    # The decision the record scored (the first end at or after the true end), its turn.
    final = first(0, lambda at, e: isinstance(e, ev.SpeechEnded) and at >= end - TOLERANCE_S)
    begun = first(final, lambda _, e: isinstance(e, ev.TurnStarted))
    started = events[begun][1]
    assert isinstance(started, ev.TurnStarted)
    done = first(begun, lambda _, e: isinstance(e, over) and e.turn_id == started.turn_id)
    # Noise after the true end heard as speech barges in: the turn is cancelled, unanswered.
    extra["cancelled"] = isinstance(events[done][1], ev.TurnCancelled)
    # Results of read-only calls are cleared when a turn ends, and no speculation is sent while a
    # turn runs: what happens after the previous turn ended belongs to this one.
    before = [at for at, e in events[:begun] if isinstance(e, over)]
    window = (before[-1] if before else -np.inf, events[done][0])
    firsts = [probe.stream(w) for w, n in probe.requests if n == 1]
    mine = [at for at in firsts if window[0] < at <= window[1]]
    after = [at for at in mine if at >= end - TOLERANCE_S]
    tools = {
        e.name: (at, e.speculative)
        for at, e in reversed(events[begun:done])
        if isinstance(e, ev.ToolCallStarted)
    }
    lookups = [a for a in map(probe.stream, probe.lookups) if window[0] < a <= window[1]]
    switches = [probe.stream(w) for w in probe.switches]
    lookup_event = tools.get("lookup")
    closing = events[done][1]
    if isinstance(closing, ev.TurnCompleted) and "endpointing" in closing.timings:
        # The endpointer decided at end + timings["endpointing"] of stream time; the loop got
        # the decision later by what the detector call (and any backlog of frames) took.
        decided = events[final][1].at + closing.timings["endpointing"]  # type: ignore[union-attr]
        extra["decision_delay"] = events[final][0] - decided
        extra["flushed"] = decided >= cut_at - TOLERANCE_S  # the source ended first
        extra["endpointer"] = decided - end
    extra.update(
        decision=events[final][0] - end,
        turn_started=events[begun][0] - end,
        adopted=started.speculative,
        answered=events[done][0] - end,
        request=mine[-1] - end if mine else None,
        first_request=after[0] - end if after else None,
        lookup_event=lookup_event[0] - end if lookup_event else None,
        # The body whose result the turn used: the first run since the last turn when reused.
        lookup_ran=(
            (lookups[0] if lookup_event[1] else lookups[-1]) - end
            if lookup_event and lookups
            else None
        ),
        switch_event=tools["switch"][0] - end if "switch" in tools else None,
        switched_early=sum(at < end - TOLERANCE_S for at in switches),
    )
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="also write per-turn records here")
    parser.add_argument(
        "--latencies", type=float, nargs="+", default=[0.0, 0.15], help="model latencies (s)"
    )
    parser.add_argument(
        "--tail", type=float, default=2.5, help="seconds of the quiet kept after the true end"
    )
    parser.add_argument("--only", nargs="+", help="run only scenes whose name contains one")
    args = parser.parse_args(argv)
    real_speech.build()
    scenes = [s for s in real_speech.load() if s.kind == "turn"]
    if args.only:
        scenes = [s for s in scenes if any(part in s.name for part in args.only)]
    configs = [Config(spec, latency) for spec in (True, False) for latency in args.latencies]
    if default_detector() is None:
        raise SystemExit("Smart Turn is not available: pip install -e '.[turn]'")
    records: list[Any] = []
    probes: dict[str, list[Probe]] = {c.name: [] for c in configs}
    warm = real_speech.read(scenes[0])[: RATE * 2]
    anyio.run(run_scene, warm, configs[0])  # imports, the model's first run: not measured
    for scene in scenes:  # scene by scene, every config in turn: load drift hits all alike
        audio = real_speech.read(scene)
        cut_at = min(audio.size / RATE, scene.speech_end + args.tail)
        audio = audio[: int(cut_at * RATE)]
        for config in configs:
            probe = anyio.run(run_scene, audio, config)
            probes[config.name].append(probe)
            records.append(measure(scene, config, probe, cut_at))
        print(f"{scene.name}: done", file=sys.stderr)
    print(report.markdown(records, configs))
    print()
    every = [p for ps in probes.values() for p in ps]
    print(
        report.lateness_line(
            [x for p in every for x in p.jitter], [x for p in every for x in p.backlog]
        )
    )
    print(report.delay_line(records))
    flushed = [f"{r.config}: {r.scene}" for r in records if r.extra.get("flushed")]
    print(f"decided only when the source ended (tail too short): {flushed or 'none'}")
    if args.json:
        rows = [{**asdict(r), "lag": r.lag} for r in records]
        args.json.write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
