"""OpenTelemetry: the span tree and metrics of real turns, as the SDK in-memory exporters record.

Every turn runs against the validating `ScriptedServer`; the SDK (a dev dependency only) records
what an application's exporter would receive.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import soundfile as sf
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from voxagent import Agent, ModelSettings, VoiceSettings, telemetry, tool
from voxagent.audio import ArraySource
from voxagent.errors import ModelError
from voxagent.testing import Reply, ScriptedServer

ROOT = Path(__file__).resolve().parents[2]
WAV = ROOT / "examples" / "audio" / "kitchen_light_on.wav"
MODEL = "mistralai/Voxtral-Mini-3B-2507"
SECRET_KEY = "sk-test-0123456789abcdefSECRET"


@tool
def set_light(room: Literal["kitchen", "bedroom"], on: bool) -> str:
    """Switch a light on or off.

    Args:
        room: Which room's light.
        on: True to switch on.
    """
    return f"{room} light {'on' if on else 'off'}"


class Otel:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])
        self.tracer_provider = tracer_provider

    def finished(self) -> list[ReadableSpan]:
        return sorted(self.spans.get_finished_spans(), key=lambda s: s.start_time or 0)

    def histogram(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        points = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


@pytest.fixture
def otel() -> Iterator[Otel]:
    recorder = Otel()
    telemetry.configure(
        tracer_provider=recorder.tracer_provider, meter_provider=recorder.meter_provider
    )
    try:
        yield recorder
    finally:
        telemetry.configure(enabled=False)
        telemetry._state = None  # the next test resolves the global providers again


def tree(spans: list[ReadableSpan]) -> list[str]:
    """The spans as indented names, children under their parent, in start order."""
    by_id = {s.context.span_id: s for s in spans}
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in spans:
            pid = span.parent.span_id if span.parent else None
            if pid == parent or (parent is None and pid not in by_id):
                lines.append("  " * depth + span.name)
                walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return lines


def spoken_samples() -> np.ndarray:
    samples, rate = sf.read(WAV, dtype="float32")
    assert rate == 16000
    return np.concatenate([samples, np.zeros(rate * 2, dtype=np.float32)])


async def spoken_turn_with_tool(otel: Otel) -> list[ReadableSpan]:
    """One spoken turn (endpointed from audio), one tool call, a spoken answer."""
    said: list[str] = []

    async def speaker(text: str) -> None:
        said.append(text)

    script = [Reply.tool_call("set_light", {"room": "kitchen", "on": True}), Reply.text("Done.")]
    async with ScriptedServer(script, model=MODEL) as server:
        agent = Agent(
            model=MODEL,
            base_url=server.base_url,
            tools=[set_light],
            voice=VoiceSettings(speaker=speaker),
        )
        async with agent:
            events = [e async for e in agent.listen(ArraySource(spoken_samples(), 16000))]
        assert server.errors == []
    assert said == ["Done."], events
    return otel.finished()


@pytest.mark.anyio
async def test_a_spoken_turn_with_a_tool_call_is_one_span_tree(otel: Otel) -> None:
    spans = await spoken_turn_with_tool(otel)
    assert tree(spans) == [
        "invoke_agent voxagent",
        "  endpointing",
        f"  chat {MODEL}",
        "  execute_tool set_light",
        f"  chat {MODEL}",
        "  speak",
    ]
    turn = next(s for s in spans if s.parent is None)
    assert len({s.context.trace_id for s in spans}) == 1
    attrs = dict(turn.attributes or {})
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["voxagent.turn.id"] == 1 and attrs["voxagent.turn.has_audio"] is True
    assert attrs["voxagent.turn.tool_calls"] == 1 and attrs["voxagent.turn.rounds"] == 2
    assert turn.status.status_code is StatusCode.UNSET
    # The turn span starts where the endpointing span starts: when the user stopped speaking.
    endpointing = next(s for s in spans if s.name == "endpointing")
    assert endpointing.start_time == turn.start_time
    assert endpointing.attributes and endpointing.attributes["voxagent.endpointing.wait_s"] > 0


@pytest.mark.anyio
async def test_docs_show_the_span_tree_as_recorded(otel: Otel) -> None:
    spans = await spoken_turn_with_tool(otel)
    doc = (ROOT / "docs" / "observability.md").read_text("utf-8")
    shown = doc.split("It prints:", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert shown.splitlines() == tree(spans)


@pytest.mark.anyio
async def test_chat_and_tool_spans_follow_the_genai_conventions(otel: Otel) -> None:
    spans = await spoken_turn_with_tool(otel)
    chats = [s for s in spans if s.name.startswith("chat ")]
    first, second = (dict(s.attributes or {}) for s in chats)
    assert first["gen_ai.operation.name"] == "chat"
    assert first["gen_ai.request.model"] == MODEL
    assert first["gen_ai.provider.name"] == "vllm"
    assert first["gen_ai.request.temperature"] == 0.2
    assert first["server.address"] == "127.0.0.1"
    assert first["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert second["gen_ai.response.finish_reasons"] == ("stop",)
    for attrs in (first, second):
        assert attrs["gen_ai.usage.input_tokens"] > 0
        assert attrs["gen_ai.usage.output_tokens"] > 0
    assert {s.kind.name for s in chats} == {"CLIENT"}
    (run,) = [s for s in spans if s.name == "execute_tool set_light"]
    attrs = dict(run.attributes or {})
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert attrs["gen_ai.tool.name"] == "set_light"
    assert isinstance(attrs["gen_ai.tool.call.id"], str) and attrs["gen_ai.tool.call.id"]
    # Arguments and results are personal data: not recorded unless asked for.
    assert "gen_ai.tool.call.arguments" not in attrs
    assert "gen_ai.tool.call.result" not in attrs
    speak = next(s for s in spans if s.name == "speak")
    assert speak.attributes == {"voxagent.speech.chars": 5}


@pytest.mark.anyio
async def test_tool_content_is_recorded_only_when_asked_for(otel: Otel) -> None:
    telemetry.configure(
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        capture_content=True,
    )
    spans = await spoken_turn_with_tool(otel)
    run = next(s for s in spans if s.name.startswith("execute_tool"))
    attrs = dict(run.attributes or {})
    assert json.loads(str(attrs["gen_ai.tool.call.arguments"])) == {"room": "kitchen", "on": True}
    assert attrs["gen_ai.tool.call.result"] == "kitchen light on"


@pytest.mark.anyio
async def test_turn_latency_and_tool_duration_are_histograms(otel: Otel) -> None:
    await spoken_turn_with_tool(otel)
    (turn,) = otel.histogram(telemetry.TURN_DURATION)
    assert turn.count == 1 and turn.sum > 0
    assert dict(turn.attributes) == {"voxagent.turn.outcome": "ok"}
    (tool_point,) = otel.histogram(telemetry.TOOL_DURATION)
    assert tool_point.count == 1
    assert dict(tool_point.attributes) == {"gen_ai.tool.name": "set_light"}


@pytest.mark.anyio
async def test_a_failed_turn_has_error_status_on_the_turn_and_the_request(otel: Otel) -> None:
    async with ScriptedServer([Reply.error(500, "the model crashed")], model=MODEL) as server:
        async with Agent(
            model=MODEL, base_url=server.base_url, settings=ModelSettings(max_tokens=64)
        ) as agent:
            with pytest.raises(ModelError):
                await agent.ask(text="hello")
    spans = otel.finished()
    assert tree(spans) == ["invoke_agent voxagent", f"  chat {MODEL}"]
    for span in spans:
        assert span.status.status_code is StatusCode.ERROR
        assert "the model crashed" in (span.status.description or "")
        assert span.attributes and span.attributes["error.type"]
    (point,) = otel.histogram(telemetry.TURN_DURATION)
    assert dict(point.attributes) == {"voxagent.turn.outcome": "error"}


@pytest.mark.anyio
async def test_a_failing_tool_marks_its_span_and_the_turn_goes_on(otel: Otel) -> None:
    @tool
    def broken() -> str:
        """Always fails."""
        raise RuntimeError("disk on fire")

    script = [Reply.tool_call("broken", {}), Reply.text("Sorry.")]
    async with ScriptedServer(script, model=MODEL) as server:
        async with Agent(model=MODEL, base_url=server.base_url, tools=[broken]) as agent:
            await agent.ask(text="go")
    spans = otel.finished()
    run = next(s for s in spans if s.name == "execute_tool broken")
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes and run.attributes["error.type"] == "raised"
    turn = next(s for s in spans if s.parent is None)
    assert turn.status.status_code is StatusCode.UNSET  # the turn itself answered
    (point,) = otel.histogram(telemetry.TOOL_DURATION)
    assert dict(point.attributes) == {"gen_ai.tool.name": "broken", "error.type": "raised"}


@pytest.mark.anyio
@pytest.mark.parametrize("auth", ["api_key", "url"])
async def test_nothing_secret_in_any_attribute(otel: Otel, auth: str) -> None:
    """API key, Authorization header, URL password and tool arguments stay out of telemetry.

    Each way to authenticate on its own: both at once is a ConfigurationError.
    """

    @tool
    def remember(pin: str) -> str:
        """Remember a PIN.

        Args:
            pin: The PIN.
        """
        return "remembered"

    script = [Reply.tool_call("remember", {"pin": "PIN-4242"}), Reply.error(401, "bad key")]
    async with ScriptedServer(script, model=MODEL) as server:
        url = server.base_url
        if auth == "url":
            url = url.replace("://", "://alice:hunter2pass@")
        key = SECRET_KEY if auth == "api_key" else None
        agent = Agent(model=MODEL, base_url=url, tools=[remember], api_key=key)
        async with agent:
            with pytest.raises(ModelError):
                await agent.ask(text="remember my pin")
    spans = otel.finished()
    assert len(spans) == 4
    seen = []
    for span in spans:
        seen.append(span.name)
        seen.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
        seen.append(span.status.description or "")
        for event in span.events:
            seen.extend(str(v) for v in (event.attributes or {}).values())
    text = "\n".join(seen)
    for secret in (SECRET_KEY, "Bearer", "hunter2pass", "alice", "PIN-4242", "authorization"):
        assert secret.lower() not in text.lower(), secret


@pytest.mark.anyio
async def test_turned_off_nothing_is_recorded(otel: Otel) -> None:
    telemetry.configure(enabled=False)
    assert not telemetry.enabled()
    await spoken_turn_with_tool(otel)
    assert otel.finished() == []
    assert otel.histogram(telemetry.TURN_DURATION) == []


def test_without_the_api_installed_the_hooks_are_shared_no_ops() -> None:
    """A fresh interpreter where `opentelemetry` cannot be imported: voxagent still works."""
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ImportError("blocked")
sys.meta_path.insert(0, Block())
from voxagent import telemetry
assert not telemetry.enabled()
assert telemetry.model_request(None, {}) is telemetry._NOOP
assert "opentelemetry" not in sys.modules
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.anyio
async def test_the_slow_tool_notice_is_speech_output_too(otel: Otel) -> None:
    said: list[str] = []

    async def speaker(text: str) -> None:
        said.append(text)

    @tool
    async def slow() -> str:
        """Takes a while."""
        import anyio

        await anyio.sleep(0.3)
        return "done"

    script = [Reply.tool_call("slow", {}), Reply.text("Finished.")]
    async with ScriptedServer(script, model=MODEL) as server:
        agent = Agent(
            model=MODEL,
            base_url=server.base_url,
            tools=[slow],
            voice=VoiceSettings(speaker=speaker, slow_tool_after=0.05),
        )
        async with agent:
            await agent.ask(text="go")
    assert said == ["One moment, I'm still working on it.", "Finished."]
    assert tree(otel.finished()) == [
        "invoke_agent voxagent",
        f"  chat {MODEL}",
        "  execute_tool slow",
        "  speak",
        f"  chat {MODEL}",
        "  speak",
    ]
