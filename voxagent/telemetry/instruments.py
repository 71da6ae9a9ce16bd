"""The live OpenTelemetry tracer, meter and instruments, and what every span records alike.

Built only once `opentelemetry-api` is known to be installed (voxagent.telemetry decides).
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from voxagent import __version__

__all__ = [
    "TOOL_DURATION",
    "TURN_DURATION",
    "Telemetry",
    "content",
    "fail",
    "now_ns",
]

TURN_DURATION = "voxagent.turn.duration"
TOOL_DURATION = "voxagent.tool.duration"
_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_MAX_CONTENT_CHARS = 4096


class Telemetry:
    """The live tracer, meter and instruments (built once the API is known to be there)."""

    def __init__(
        self, tracer_provider: Any, meter_provider: Any, capture_content: bool | None
    ) -> None:
        from opentelemetry import metrics, trace  # lazy: the optional `otel` extra

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


def now_ns() -> int:
    """Wall-clock time in nanoseconds, what span start and end times are given in."""
    return time.time_ns()


def _safe(text: str) -> str:
    """One line for a status description: no URL user info (a password), bounded."""
    return _USERINFO.sub("", text)[:500]


def content(value: Any) -> str:
    """A tool argument, result or spoken text as an attribute value: JSON text, bounded."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:_MAX_CONTENT_CHARS]


def fail(tel: Telemetry, span: Any, exc: BaseException) -> None:
    """Mark `span` failed by `exc`: its type and its message (user info removed)."""
    from opentelemetry.trace import Status, StatusCode  # lazy: the optional `otel` extra

    message = getattr(exc, "message", None)
    if not isinstance(message, str):
        message = str(exc) or type(exc).__name__
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, _safe(message)))
