"""Measurement 6: N concurrent sessions in one process (run as a worker, one process per N).

    python tools/bench/scale.py N [VARIANT]      # prints one JSON line

Each session is an entered `Agent` doing 5 audio turns (3 s clips) against the scripted server
process, which answers after 50 ms. All sessions share one httpx client (as a server would).
A monitor task measures event-loop lag (how late a 5 ms sleep wakes up) and samples RSS.

Variants (compared side by side by `tools/bench_scale.py`):
- `shared` (the default, what measurement 6 always measured): httpx's own pool, one connection
  per session allowed, no admission limit;
- `admission`: the same client behind `Admission(ADMIT)`, its pool sized to match;
- `aiohttp`: httpx with httpx-aiohttp's `AiohttpTransport` (aiohttp's pool), no limit;
- `aiohttp+admission`: both.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import anyio
import httpx
from common import MODEL, Row, clip_wav, median, ms, p99, rss_bytes, server_process

TURNS = 5
TICK = 0.005
ADMIT = int(os.environ.get("VOXAGENT_BENCH_ADMIT", "16"))
VARIANTS = ("shared", "admission", "aiohttp", "aiohttp+admission")


def _client(sessions: int, variant: str) -> tuple[httpx.AsyncClient, Any]:
    """The shared client and the admission limit (or None) a variant runs with."""
    from voxagent.client import Admission

    limited = variant.endswith("admission")
    size = ADMIT if limited else sessions
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    admission = Admission(ADMIT) if limited else None
    if variant.startswith("aiohttp"):
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(limits=limits)
        return httpx.AsyncClient(timeout=300, transport=transport), admission
    return httpx.AsyncClient(timeout=300, limits=limits), admission


async def _monitor(lags: list[float], peak: list[int], stop: anyio.Event) -> None:
    last_rss = 0.0
    while not stop.is_set():
        before = time.perf_counter()
        await anyio.sleep(TICK)
        now = time.perf_counter()
        lags.append(max(0.0, now - before - TICK))
        if now - last_rss > 0.05:
            peak[0] = max(peak[0], rss_bytes())
            last_rss = now


async def run(sessions: int, variant: str = "shared") -> dict[str, Any]:
    """Run `sessions` concurrent sessions; return the figures."""
    from voxagent import Agent

    wav = str(clip_wav(3.0))
    latencies: list[float] = []
    errors: list[str] = []
    waits: list[float] = []
    with server_process("scale") as base_url:
        client, admission = _client(sessions, variant)
        async with client:
            options: dict[str, Any] = {"http_client": client, "admission": admission}
            # Warm up imports, the connection code and one agent, then take the baseline.
            async with Agent(model=MODEL, base_url=base_url, **options) as warm:
                await warm.ask(audio=wav)
            baseline = rss_bytes()
            lags: list[float] = []
            peak = [baseline]
            stop = anyio.Event()

            async def session() -> None:
                try:
                    async with Agent(model=MODEL, base_url=base_url, **options) as agent:
                        for _ in range(TURNS):
                            started = time.perf_counter()
                            result = await agent.ask(audio=wav)
                            latencies.append(time.perf_counter() - started)
                            waits.append(result.timings.get("admission", 0.0))
                            assert result.text == "OK.", result.text
                except Exception as exc:  # counted and reported, never hidden
                    errors.append(f"{type(exc).__name__}: {exc}")

            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                tg.start_soon(_monitor, lags, peak, stop)
                async with anyio.create_task_group() as sessions_tg:
                    for _ in range(sessions):
                        sessions_tg.start_soon(session)
                wall = time.perf_counter() - started
                stop.set()
    return {
        "variant": variant,
        "sessions": sessions,
        "admission_p50": median(waits) if waits else None,
        "turns": len(latencies),
        "throughput": len(latencies) / wall,
        "p50": median(latencies) if latencies else None,
        "p99": p99(latencies) if latencies else None,
        "lag_p99": p99(lags) if lags else 0.0,
        "rss_per_session": (peak[0] - baseline) / sessions,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall": wall,
    }


def rows(results: list[dict[str, Any]]) -> list[Row]:
    """One row per N; the bar applies at N = 500."""
    out = []
    for r in results:
        bar = r["sessions"] == 500
        met = r["lag_p99"] <= 0.020 and r["rss_per_session"] <= 1e6 and r["errors"] == 0
        latency = f"p50 {ms(r['p50'])} / p99 {ms(r['p99'])}" if r["p50"] is not None else "-"
        out.append(
            Row(
                6,
                f"Scale: {r['sessions']} sessions x {TURNS} turns (3 s clips, 50 ms model)",
                f"{r['throughput']:.0f} turns/s, turn {latency}, loop lag p99 "
                f"**{ms(r['lag_p99'])}**, RSS **{r['rss_per_session'] / 1e6:.2f} MB**/session, "
                f"errors {r['errors']}" + (f" ({r['first_error'][:80]})" if r["errors"] else ""),
                "lag p99 <= 20 ms, RSS <= 1 MB/session, no errors" if bar else "",
                met if bar else None,
            )
        )
    return out


if __name__ == "__main__":
    variant = sys.argv[2] if len(sys.argv) > 2 else "shared"
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    print(json.dumps(anyio.run(run, int(sys.argv[1]), variant)))
