"""The span of the speaker saying an answer (`speak`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from voxagent.telemetry.instruments import Telemetry, content, fail

__all__ = ["speak_span"]


async def speak_span(tel: Telemetry, speaker: Callable[[str], Awaitable[None]], text: str) -> None:
    """`await speaker(text)` inside its span (see `voxagent.telemetry.speak`)."""
    attributes: dict[str, Any] = {"voxagent.speech.chars": len(text)}
    if tel.capture_content:
        attributes["voxagent.speech.text"] = content(text)
    span = tel.tracer.start_span("speak", attributes=attributes)
    try:
        with tel.trace.use_span(span, end_on_exit=False, record_exception=False):
            await speaker(text)
    except Exception as exc:
        fail(tel, span, exc)
        raise
    finally:
        span.end()
