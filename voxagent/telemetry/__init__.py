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
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from voxagent.client import ModelClient
    from voxagent.client.types import ChatResponse
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

TURN_DURATION = "voxagent.turn.duration"
TOOL_DURATION = "voxagent.tool.duration"
_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_MAX_CONTENT_CHARS = 4096


class _Noop:
    """What every hook returns when telemetry is off: a context manager that records nothing."""

    __slots__ = ()

    def __enter__(self) -> _Noop:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def done(self, response: ChatResponse | None) -> None:
        """Nothing to record."""


_NOOP = _Noop()


class _Telemetry:
    """The live tracer, meter and instruments (built once the API is known to be there)."""

    def __init__(
        self, tracer_provider: Any, meter_provider: Any, capture_content: bool | None
    ) -> None:
        from opentelemetry import metrics, trace

        from voxagent import __version__

        self.trace = trace
        self.tracer = trace.get_tracer("voxagent", __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter("voxagent", __version__, meter_provider=meter_provider)
        self.turn_duration = meter.create_histogram(
            TURN_DURATION, unit="s", description="A user turn, end of speech to final answer"
        )
        self.tool_duration = meter.create_histogram(
            TOOL_DURATION, unit="s", description="One tool execution"
        )
        if capture_content is None:
            capture_content = os.environ.get(_CONTENT_ENV, "").lower() in ("1", "true", "yes")
        self.capture_content = capture_content


# None: not resolved yet (first use looks for the API); False: off.
_state: _Telemetry | bool | None = None


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
    _state = _Telemetry(tracer_provider, meter_provider, capture_content)


def enabled() -> bool:
    """Whether voxagent reports to OpenTelemetry (the API is installed and not turned off)."""
    return _live() is not None


def _api_installed() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.trace") is not None
    except (ImportError, ValueError):
        return False


def _live() -> _Telemetry | None:
    state = _state
    if state is None:
        configure()
        state = _state
    return state if isinstance(state, _Telemetry) else None


def _now_ns() -> int:
    return time.time_ns()


def _safe(text: str) -> str:
    """One line for a status description: no URL user info (a password), bounded."""
    return _USERINFO.sub("", text)[:500]


def _content(value: Any) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:_MAX_CONTENT_CHARS]


def _fail(tel: _Telemetry, span: Any, exc: BaseException) -> None:
    from opentelemetry.trace import Status, StatusCode

    message = getattr(exc, "message", None)
    if not isinstance(message, str):
        message = str(exc) or type(exc).__name__
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, _safe(message)))


# ------------------------------------------------------------------------------------ turns

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
        return await _turn(tel, functools.partial(run, *args, **kwargs), args, kwargs)

    return wrapper


async def _turn(
    tel: _Telemetry,
    run: Callable[[], Awaitable[TurnResult]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> TurnResult:
    agent, user = args[0], args[1]
    now = _now_ns()
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
        _fail(tel, span, exc)
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
        elapsed = (_now_ns() - start) / 1e9
        tel.turn_duration.record(elapsed, {"voxagent.turn.outcome": outcome})


# ------------------------------------------------------------------------- model requests


class _Request:
    """A model request span (CLIENT kind), ended when the `with` block leaves."""

    __slots__ = ("span", "tel")

    def __init__(self, tel: _Telemetry, span: Any) -> None:
        self.tel = tel
        self.span = span

    def __enter__(self) -> _Request:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, Exception):
            _fail(self.tel, self.span, exc)
        elif exc is not None:  # cancelled, or the consumer stopped reading the stream
            self.span.set_attribute("voxagent.request.cancelled", True)
        self.span.end()

    def done(self, response: ChatResponse | None) -> None:
        """Record what the server answered: model, finish reason, token usage."""
        if response is None:
            return
        attributes: dict[str, Any] = {}
        if response.model:
            attributes["gen_ai.response.model"] = response.model
        if response.finish_reason:
            attributes["gen_ai.response.finish_reasons"] = (response.finish_reason,)
        if response.usage is not None:
            attributes["gen_ai.usage.input_tokens"] = response.usage.prompt_tokens
            attributes["gen_ai.usage.output_tokens"] = response.usage.completion_tokens
        if response.tool_calls:
            attributes["voxagent.response.tool_calls"] = len(response.tool_calls)
        self.span.set_attributes(attributes)


_REQUEST_OPTIONS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
    "random_seed": "gen_ai.request.seed",
}


def model_request(client: ModelClient, body: Mapping[str, Any]) -> _Request | _Noop:
    """A span for one chat request `body` about to be sent by `client` (use it as `with`).

    Only the model, sampling options and the server's host and port are recorded: never the
    messages, the headers or a URL's user info.
    """
    tel = _live()
    if tel is None:
        return _NOOP
    from opentelemetry.trace import SpanKind

    model = str(body.get("model", ""))
    provider = "mistral_ai" if client.dialect.name == "mistral" else client.dialect.name
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "gen_ai.request.model": model,
        "voxagent.request.stream": bool(body.get("stream", False)),
    }
    for key, name in _REQUEST_OPTIONS.items():
        value = body.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[name] = value
    parts = urlsplit(client.base_url)
    if parts.hostname:
        attributes["server.address"] = parts.hostname
    try:
        if parts.port is not None:
            attributes["server.port"] = parts.port
    except ValueError:
        pass
    span = tel.tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes)
    return _Request(tel, span)


# ------------------------------------------------------------------------------- tools


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
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool.name,
        "gen_ai.tool.call.id": call_id,
        "gen_ai.tool.type": "function",
    }
    if tel.capture_content:
        attributes["gen_ai.tool.call.arguments"] = _content(dict(values))
    span = tel.tracer.start_span(f"execute_tool {tool.name}", attributes=attributes)
    kind: str | None = "cancelled"
    started = time.perf_counter()
    try:
        with tel.trace.use_span(span, end_on_exit=False, record_exception=False):
            result = await registry.call(tool, values, ctx)
        kind = result.error_kind if result.is_error else None
        if result.is_error:
            from opentelemetry.trace import Status, StatusCode

            span.set_attribute("error.type", kind or "tool_error")
            span.set_status(Status(StatusCode.ERROR, f"tool {tool.name} failed ({kind})"))
        if tel.capture_content:
            span.set_attribute("gen_ai.tool.call.result", _content(result.content))
        return result
    except BaseException as exc:
        kind = type(exc).__name__
        span.set_attribute("error.type", kind)
        raise
    finally:
        span.end()
        attrs = {"gen_ai.tool.name": tool.name} | ({"error.type": kind} if kind else {})
        tel.tool_duration.record(time.perf_counter() - started, attrs)


# ------------------------------------------------------------------------------ speech


async def speak(speaker: Callable[[str], Awaitable[None]], text: str) -> None:
    """`await speaker(text)` inside a `speak` span (the text itself only with capture_content)."""
    tel = _live()
    if tel is None:
        await speaker(text)
        return
    attributes: dict[str, Any] = {"voxagent.speech.chars": len(text)}
    if tel.capture_content:
        attributes["voxagent.speech.text"] = _content(text)
    span = tel.tracer.start_span("speak", attributes=attributes)
    try:
        with tel.trace.use_span(span, end_on_exit=False, record_exception=False):
            await speaker(text)
    except Exception as exc:
        _fail(tel, span, exc)
        raise
    finally:
        span.end()
