"""The span of one user turn (`invoke_agent voxagent`) and its `endpointing` child."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from voxagent.telemetry.instruments import Telemetry, fail, now_ns

if TYPE_CHECKING:
    from voxagent.results import TurnResult

__all__ = ["turn_span"]


async def turn_span(
    tel: Telemetry,
    run: Callable[[], Awaitable[TurnResult]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> TurnResult:
    """Run one turn, `run()`, inside its span; `args` and `kwargs` are the turn runner's own."""
    agent, user = args[0], args[1]
    now = now_ns()
    timings = user.timings
    waited = timings.get("endpointing", 0.0)
    before = waited + timings.get("queued", 0.0) + timings.get("prepare", 0.0)
    start = now - int(max(before, 0.0) * 1e9)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "voxagent",
        "voxagent.turn.id": int(kwargs.get("turn_id", 0)),
        "voxagent.turn.has_audio": user.clip is not None,
    }
    model = getattr(agent, "model", None)
    if isinstance(model, str):
        attributes["gen_ai.request.model"] = model
    span = tel.tracer.start_span("invoke_agent voxagent", attributes=attributes, start_time=start)
    if "endpointing" in timings:
        clip_s = getattr(user.clip, "duration_s", None)
        child = tel.tracer.start_span(
            "endpointing",
            context=tel.trace.set_span_in_context(span),
            attributes={"voxagent.endpointing.wait_s": waited}
            | ({"voxagent.audio.duration_s": float(clip_s)} if clip_s is not None else {}),
            start_time=start,
        )
        child.end(end_time=start + int(max(waited, 0.0) * 1e9))
    outcome = "error"
    try:
        with tel.trace.use_span(span, end_on_exit=False, record_exception=False):
            result = await run()
        usage = result.usage
        span.set_attributes(
            {
                "gen_ai.usage.input_tokens": usage.prompt_tokens,
                "gen_ai.usage.output_tokens": usage.completion_tokens,
                "voxagent.turn.rounds": result.rounds,
                "voxagent.turn.tool_calls": len(result.tool_calls),
            }
        )
        outcome = "ok"
        return result
    except Exception as exc:
        fail(tel, span, exc)
        result_error = getattr(exc, "result", None)
        if result_error is not None:  # a SpeakerError: the answer itself was recorded
            span.set_attribute("voxagent.turn.answered", True)
        raise
    except BaseException:
        outcome = "cancelled"
        span.set_attribute("voxagent.turn.cancelled", True)
        raise
    finally:
        span.end()
        elapsed = (now_ns() - start) / 1e9
        tel.turn_duration.record(elapsed, {"voxagent.turn.outcome": outcome})
