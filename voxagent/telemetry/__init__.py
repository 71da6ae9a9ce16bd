"""OpenTelemetry traces and metrics for voxagent (the `otel` extra: `opentelemetry-api`).

Without `opentelemetry-api` installed every hook here is a shared no-op object: no import, no
allocation, nothing measurable per turn. With it, voxagent reports through whatever tracer and
meter providers the application set up (`opentelemetry.trace.set_tracer_provider`, or the
`opentelemetry-instrument` launcher); with the API alone and no SDK, OpenTelemetry's own no-op
providers answer.

Spans (GenAI semantic conventions where they exist), one tree per user turn:

    invoke_agent voxagent          one turn: from the end of speech (back-dated by the
    ├── endpointing                  endpointer's wait) to the answer, spoken if there is a speaker
    ├── chat {model}               each model request (CLIENT): model, sampling, usage, finish
    ├── execute_tool {name}        each tool run: name, call id, outcome (INTERNAL)
    ├── chat {model}
    └── speak                      the speaker saying the answer

Metrics: `voxagent.turn.duration` and `voxagent.tool.duration` (histograms, seconds).

What never goes into an attribute: API keys, headers, URLs' user info, audio, and (unless
`capture_content=True` or `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`) tool arguments,
tool results and spoken text.

The hooks are here with the switch that turns them on (`configure`); the spans they start are
built in `turns`, `model_requests`, `tool_calls` and `speech`, on the instruments of
`instruments`.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec

from voxagent.telemetry.instruments import TOOL_DURATION, TURN_DURATION, Telemetry
from voxagent.telemetry.model_requests import NOOP as _NOOP, Noop, Request, request_span
from voxagent.telemetry.speech import speak_span
from voxagent.telemetry.tool_calls import tool_span
from voxagent.telemetry.turns import turn_span

if TYPE_CHECKING:
    from voxagent.client import ModelClient
    from voxagent.results import TurnResult
    from voxagent.tools import RunContext, Tool, ToolRegistry, ToolResult

__all__ = [
    "TOOL_DURATION",
    "TURN_DURATION",
    "configure",
    "enabled",
    "model_request",
    "speak",
    "traced_tool_call",
    "traced_turn",
]

# None: not resolved yet (first use looks for the API); False: off.
_state: Telemetry | bool | None = None


def configure(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    capture_content: bool | None = None,
    enabled: bool | None = None,
) -> None:
    """Choose where voxagent's spans and metrics go (optional: the global providers by default).

    Args:
        tracer_provider: An OpenTelemetry `TracerProvider`; None: the global one.
        meter_provider: An OpenTelemetry `MeterProvider`; None: the global one.
        capture_content: Record tool arguments, tool results and spoken text as span
            attributes. Off by default (they may hold personal data); None: the
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT environment variable decides.
        enabled: False turns every hook into a no-op; None: on when opentelemetry-api is
            installed.
    """
    global _state
    if enabled is False or (enabled is None and not _api_installed()):
        _state = False
        return
    _state = Telemetry(tracer_provider, meter_provider, capture_content)


def enabled() -> bool:
    """Whether voxagent reports to OpenTelemetry (the API is installed and not turned off)."""
    return _live() is not None


def _api_installed() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.trace") is not None
    except (ImportError, ValueError):
        return False


def _live() -> Telemetry | None:
    state = _state
    if state is None:
        configure()
        state = _state
    return state if isinstance(state, Telemetry) else None


P = ParamSpec("P")


def traced_turn(
    run: Callable[P, Awaitable[TurnResult]],
) -> Callable[P, Awaitable[TurnResult]]:
    """Decorate the agent's turn runner `(self, user, emit, *, turn_id, voice)` with a turn span.

    The span starts when the user stopped speaking (back-dated by the turn's `endpointing`,
    `queued` and `prepare` timings), holds an `endpointing` child for the endpointer's wait, and
    ends when the answer has been spoken; its duration goes into `voxagent.turn.duration`.
    """

    @functools.wraps(run)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> TurnResult:
        tel = _live()
        if tel is None:
            return await run(*args, **kwargs)
        return await turn_span(tel, functools.partial(run, *args, **kwargs), args, kwargs)

    return wrapper


def model_request(client: ModelClient, body: Mapping[str, Any]) -> Request | Noop:
    """A span for one chat request `body` about to be sent by `client` (use it as `with`).

    Only the model, sampling options and the server's host and port are recorded: never the
    messages, the headers or a URL's user info.
    """
    tel = _live()
    if tel is None:
        return _NOOP
    return request_span(tel, client, body)


async def traced_tool_call(
    registry: ToolRegistry,
    tool: Tool[Any],
    values: Mapping[str, Any],
    ctx: RunContext[Any],
    call_id: str,
) -> ToolResult:
    """`registry.call(tool, values, ctx)` inside an `execute_tool {name}` span.

    The outcome of a failed tool (its `error_kind`) sets the span's error status; its duration
    goes into `voxagent.tool.duration`. Arguments and results only with `capture_content`.
    """
    tel = _live()
    if tel is None:
        return await registry.call(tool, values, ctx)
    return await tool_span(tel, registry, tool, values, ctx, call_id)


async def speak(speaker: Callable[[str], Awaitable[None]], text: str) -> None:
    """`await speaker(text)` inside a `speak` span (the text itself only with capture_content)."""
    tel = _live()
    if tel is None:
        await speaker(text)
        return
    await speak_span(tel, speaker, text)
