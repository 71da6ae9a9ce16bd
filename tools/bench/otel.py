"""Measurement 9: what OpenTelemetry costs a turn (voxagent/telemetry.py).

The turn of measurement 1 (10 s WAV, one tool call, an answer; scripted server in its own
process), interleaved round-robin after a warm-up, with telemetry:
- off: `telemetry.configure(enabled=False)`, the very path taken when opentelemetry-api is not
  installed (every hook returns the shared no-op);
- api: opentelemetry-api installed, no SDK (OpenTelemetry's own no-op tracer answers);
- sdk: the SDK recording every span into an in-memory exporter, and both histograms.
The bare httpx loop of measurement 1 is the reference. Also: the hooks' own cost per turn with
telemetry off, timed over many calls (what "zero measurable cost" means in microseconds).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from common import Row, clip_wav, median, ms, server_process
from overhead import Turn, bare_turn, capture_bodies, interleave, voxagent_turn

from voxagent import telemetry

# Hook calls per turn of this benchmark: the turn, 2 chat requests, 1 tool run.
HOOKS_PER_TURN = 4


def with_telemetry(
    prepare: Callable[[], Awaitable[Turn]], setup: Callable[[], None]
) -> Callable[[], Awaitable[Turn]]:
    """The same turn, with telemetry set up by `setup` before it (outside the timing)."""

    async def prepared() -> Turn:
        setup()
        return await prepare()

    return prepared


def sdk_setup() -> Callable[[], None]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])

    def setup() -> None:
        exporter.clear()
        telemetry.configure(tracer_provider=tracer_provider, meter_provider=meter_provider)

    return setup


def hook_cost_off(calls: int = 200_000) -> float:
    """Seconds one hook costs with telemetry off (the no-op path), net of a plain call."""
    telemetry.configure(enabled=False)

    def plain(client: Any, body: Any) -> None:
        return None

    body: dict[str, Any] = {}
    started = time.perf_counter()
    for _ in range(calls):
        with telemetry.model_request(None, body):  # type: ignore[arg-type]
            pass
    hooked = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(calls):
        plain(None, body)
    bare = time.perf_counter() - started
    return max(hooked - bare, 0.0) / calls


async def measure(repeats: int) -> tuple[dict[str, list[float]], float]:
    wav = clip_wav(10.0)
    telemetry.configure(enabled=False)
    bodies = await capture_bodies(wav)
    with server_process("turn") as base_url:
        limits = httpx.Limits(max_keepalive_connections=20)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            bare = bare_turn(client, f"{base_url}/chat/completions", bodies)

            async def ready() -> Turn:
                return bare

            turn = voxagent_turn(client, base_url, wav)
            contenders = {
                "bare": ready,
                "off": with_telemetry(turn, lambda: telemetry.configure(enabled=False)),
                "api": with_telemetry(turn, lambda: telemetry.configure()),
                "sdk": with_telemetry(turn, sdk_setup()),
            }
            times = await interleave(contenders, repeats, warmup=max(3, repeats // 10))
    telemetry.configure(enabled=False)
    return times, hook_cost_off()


def rows(times: dict[str, list[float]], hook_s: float) -> list[Row]:
    bare, off, api, sdk = (median(times[k]) for k in ("bare", "off", "api", "sdk"))
    per_turn = hook_s * HOOKS_PER_TURN
    return [
        Row(
            9,
            "Telemetry: the turn of (1) with OpenTelemetry off (= not installed), API only, SDK",
            f"off {ms(off)}, api only {ms(api)} (**{api / off:.3f}** x off), sdk recording "
            f"{ms(sdk)} (**{sdk / off:.3f}** x off); bare httpx {ms(bare)}; n={len(times['off'])}",
            "",
            None,
        ),
        Row(
            9,
            "Telemetry off: the hooks' own cost per turn (4 hook calls, timed over 200k calls)",
            f"**{per_turn * 1e6:.2f} us**/turn = {per_turn / off * 100:.3f}% of the turn",
            "< 0.1% of the turn",
            per_turn / off < 0.001,
        ),
    ]


if __name__ == "__main__":
    import sys

    import anyio

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    measured, hook = anyio.run(measure, n)
    for row in rows(measured, hook):
        print(row)
