"""The span of one model request (`chat {model}`, CLIENT kind), and the no-op stand-in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from voxagent.telemetry.instruments import Telemetry, fail

if TYPE_CHECKING:
    from voxagent.client import ModelClient
    from voxagent.client.types import ChatResponse

__all__ = ["NOOP", "Noop", "Request", "request_span"]


class Noop:
    """What every hook returns when telemetry is off: a context manager that records nothing."""

    __slots__ = ()

    def __enter__(self) -> Noop:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def done(self, response: ChatResponse | None) -> None:
        """Nothing to record."""


NOOP = Noop()


class Request:
    """A model request span (CLIENT kind), ended when the `with` block leaves."""

    __slots__ = ("span", "tel")

    def __init__(self, tel: Telemetry, span: Any) -> None:
        self.tel = tel
        self.span = span

    def __enter__(self) -> Request:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, Exception):
            fail(self.tel, self.span, exc)
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


def request_span(tel: Telemetry, client: ModelClient, body: Mapping[str, Any]) -> Request:
    """Start the span of the chat request `body` that `client` is about to send."""
    from opentelemetry.trace import SpanKind  # lazy: the optional `otel` extra

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
    return Request(tel, span)
