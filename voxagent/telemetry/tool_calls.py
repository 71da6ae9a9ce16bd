"""The span of one tool run (`execute_tool {name}`) and the `voxagent.tool.duration` metric."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from voxagent.telemetry.instruments import Telemetry, content

if TYPE_CHECKING:
    from voxagent.tools import RunContext, Tool, ToolRegistry, ToolResult

__all__ = ["tool_span"]


async def tool_span(
    tel: Telemetry,
    registry: ToolRegistry,
    tool: Tool[Any],
    values: Mapping[str, Any],
    ctx: RunContext[Any],
    call_id: str,
) -> ToolResult:
    """`registry.call(tool, values, ctx)` inside its span (see `traced_tool_call`)."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": tool.name,
        "gen_ai.tool.call.id": call_id,
        "gen_ai.tool.type": "function",
    }
    if tel.capture_content:
        attributes["gen_ai.tool.call.arguments"] = content(dict(values))
    span = tel.tracer.start_span(f"execute_tool {tool.name}", attributes=attributes)
    kind: str | None = "cancelled"
    started = time.perf_counter()
    try:
        with tel.trace.use_span(span, end_on_exit=False, record_exception=False):
            result = await registry.call(tool, values, ctx)
        kind = result.error_kind if result.is_error else None
        if result.is_error:
            from opentelemetry.trace import Status, StatusCode  # lazy: the optional `otel` extra

            span.set_attribute("error.type", kind or "tool_error")
            span.set_status(Status(StatusCode.ERROR, f"tool {tool.name} failed ({kind})"))
        if tel.capture_content:
            span.set_attribute("gen_ai.tool.call.result", content(result.content))
        return result
    except BaseException as exc:
        kind = type(exc).__name__
        span.set_attribute("error.type", kind)
        raise
    finally:
        span.end()
        attrs = {"gen_ai.tool.name": tool.name} | ({"error.type": kind} if kind else {})
        tel.tool_duration.record(time.perf_counter() - started, attrs)
