"""Measurements 1, 2 and 7: one voice turn (10 s WAV, one tool call, a final answer).

Contenders, interleaved round-robin after a warm-up, all on one shared httpx client:
- bare: the limit. voxagent's own request bodies (captured byte for byte from a voxagent turn)
  POSTed by a plain httpx loop that only reads the responses;
- voxagent: `agent.ask(audio=path)` (streaming, the default), and with `stream=False`;
- pydantic-ai: `Agent.run([BinaryContent(wav)])` on its OpenAI chat model (`input_audio`) with
  the same tool (non-streamed, its default). Compared with voxagent `stream=False`.
Each voxagent turn gets a fresh Agent (entered outside the timing) so every turn is the same turn.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx
from common import MODEL, Row, clip_wav, median, ms, p95, recording_client, server_process

Turn = Callable[[], Awaitable[None]]


async def set_light(room: Literal["kitchen", "bedroom"], on: bool) -> str:
    """Switch a light on or off.

    Args:
        room: Which room's light.
        on: True to switch on.
    """
    return f"The {room} light is {'on' if on else 'off'}."


async def capture_bodies(wav: Path, **agent_options: Any) -> list[bytes]:
    """Run one voxagent turn against a validating in-process ScriptedServer; return its bodies.

    The raw bytes come from the transport and are checked against the server's `requests`, and
    the server must have accepted every request as vLLM would.
    """
    from voxagent import Agent
    from voxagent.testing import Reply, ScriptedServer

    script = [Reply.tool_call("set_light", {"room": "kitchen", "on": True}), Reply.text("Done.")]
    client, recorder = recording_client()
    async with client, ScriptedServer(script, model=MODEL) as server:
        agent = Agent(
            model=MODEL,
            base_url=server.base_url,
            tools=[set_light],
            http_client=client,
            **agent_options,
        )
        async with agent:
            await agent.ask(audio=str(wav))
        assert server.errors == [], server.errors
    bodies = [body for _, path, body in recorder.sent if path.endswith("/chat/completions")]
    assert [json.loads(b) for b in bodies] == server.requests
    return bodies


def bare_turn(client: httpx.AsyncClient, url: str, bodies: list[bytes]) -> Turn:
    """The limit: the same bodies POSTed in order, each response read to its end."""
    headers = {"content-type": "application/json"}

    async def turn() -> None:
        for body in bodies:
            async with client.stream("POST", url, content=body, headers=headers) as response:
                async for _ in response.aiter_raw():
                    pass
                response.raise_for_status()

    return turn


def voxagent_turn(
    client: httpx.AsyncClient,
    base_url: str,
    wav: Path,
    model: str = MODEL,
    check: bool = True,
    **options: Any,
) -> Callable[[], Awaitable[Turn]]:
    """Make a fresh entered Agent (untimed), and return the timed `ask` as a turn."""
    from voxagent import Agent

    async def prepare() -> Turn:
        agent = Agent(
            model=model, base_url=base_url, tools=[set_light], http_client=client, **options
        )
        await agent.__aenter__()

        async def turn() -> None:
            try:
                result = await agent.ask(audio=str(wav))
                # A random-weight real model may not call the tool: check the scripted one only.
                if check:
                    assert result.tool_calls and not result.tool_calls[0].result.is_error, result
            finally:
                await agent.__aexit__(None, None, None)

        return turn

    return prepare


def pydantic_ai_turn(base_url: str, wav: Path) -> Turn:
    """pydantic-ai doing the same turn: audio in, the same tool, the final answer."""
    from pydantic_ai import Agent, BinaryContent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    # Its own client: pydantic-ai deprecates passing an httpx.AsyncClient here.
    provider = OpenAIProvider(base_url=base_url, api_key="unused")
    agent = Agent(OpenAIChatModel(MODEL, provider=provider))
    agent.tool_plain(set_light)

    # Read once, outside the timing (voxagent reads its file inside: a slight handicap for it).
    data = wav.read_bytes()

    async def turn() -> None:
        result = await agent.run([BinaryContent(data=data, media_type="audio/wav")])
        assert result.output, result

    return turn


async def interleave(
    contenders: dict[str, Callable[[], Awaitable[Turn]]], repeats: int, warmup: int
) -> dict[str, list[float]]:
    """Run each contender `warmup + repeats` times, round-robin; return the timed seconds."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(warmup + repeats):
        for name, prepare in contenders.items():
            turn = await prepare()
            started = time.perf_counter()
            await turn()
            elapsed = time.perf_counter() - started
            if round_ >= warmup:
                times[name].append(elapsed)
    return times


def _ready(turn: Turn) -> Callable[[], Awaitable[Turn]]:
    async def prepare() -> Turn:
        return turn

    return prepare


async def measure_turns(repeats: int) -> tuple[dict[str, list[float]], int]:
    """Measurements 1 and 2 against the scripted server process."""
    wav = clip_wav(10.0)
    stream_bodies = await capture_bodies(wav)
    plain_bodies = await capture_bodies(wav, stream=False)
    with server_process("turn") as base_url:
        limits = httpx.Limits(max_keepalive_connections=20)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            url = f"{base_url}/chat/completions"
            contenders = {
                "bare": _ready(bare_turn(client, url, stream_bodies)),
                "voxagent": voxagent_turn(client, base_url, wav),
                "bare_nostream": _ready(bare_turn(client, url, plain_bodies)),
                "voxagent_nostream": voxagent_turn(client, base_url, wav, stream=False),
                "pydantic_ai": _ready(pydantic_ai_turn(base_url, wav)),
            }
            times = await interleave(contenders, repeats, warmup=max(3, repeats // 10))
    return times, len(stream_bodies[0])


def turn_rows(times: dict[str, list[float]], body_size: int) -> list[Row]:
    """Rows for measurements 1 and 2 (turn time)."""
    bare, vox = median(times["bare"]), median(times["voxagent"])
    ratio, added = vox / bare, vox - bare
    bare_ns, vox_ns = median(times["bare_nostream"]), median(times["voxagent_nostream"])
    peer = median(times["pydantic_ai"])
    n = len(times["bare"])
    return [
        Row(
            1,
            "Turn overhead (10 s WAV, 1 tool call + answer, scripted server), streamed",
            f"voxagent {ms(vox)} (p95 {ms(p95(times['voxagent']))}), bare httpx "
            f"{ms(bare)} (p95 {ms(p95(times['bare']))}); ratio **{ratio:.3f}**, added "
            f"**{ms(added)}**/turn; n={n}, first body {body_size / 1e3:.0f} kB",
            "ratio <= 1.05 and added <= 3 ms",
            ratio <= 1.05 and added <= 0.003,
        ),
        Row(
            1,
            "Turn overhead, not streamed (stream=False)",
            f"voxagent {ms(vox_ns)} (p95 {ms(p95(times['voxagent_nostream']))}), bare "
            f"{ms(bare_ns)} (p95 {ms(p95(times['bare_nostream']))}); ratio "
            f"**{vox_ns / bare_ns:.3f}**, added **{ms(vox_ns - bare_ns)}**/turn",
            "ratio <= 1.05 and added <= 3 ms",
            vox_ns / bare_ns <= 1.05 and vox_ns - bare_ns <= 0.003,
        ),
        Row(
            2,
            "Peer: time per turn, voxagent (stream=False) / pydantic-ai (same turn, same server)",
            f"voxagent {ms(vox_ns)}, pydantic-ai {ms(peer)} (p95 "
            f"{ms(p95(times['pydantic_ai']))}); ratio **{vox_ns / peer:.2f}** "
            f"(streamed voxagent / pydantic-ai: {vox / peer:.2f})",
            "ratio < 1",
            vox_ns / peer < 1,
        ),
    ]


async def measure_real_server(repeats: int) -> list[Row]:
    """Measurement 7: the same turn against the real vLLM CPU server (tiny model)."""
    import importlib.util

    from common import ROOT

    spec = importlib.util.spec_from_file_location("vllm_cpu", ROOT / "tools" / "vllm_cpu.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    title = "Real server: turn overhead against vLLM CPU (tiny random Voxtral)"
    if not tool.is_installed():
        return [
            Row(
                7,
                title,
                "skipped: the vLLM CPU environment is not installed "
                "(`python tools/vllm_cpu.py install`)",
                "ratio ~ 1",
                None,
            )
        ]
    wav = clip_wav(10.0)
    server = tool.tiny_server()
    started = time.monotonic()
    async with server:
        startup = time.monotonic() - started
        model = tool.tiny_model_name()
        # A named tool_choice makes even random weights produce a valid call (guided decoding);
        # a fixed seed and a small max_tokens keep the answer round the same every time.
        options: dict[str, Any] = {
            "tool_choice": "set_light",
            "seed": 0,
            "max_tokens": 48,
            "check": False,
        }
        client, recorder = recording_client()
        async with client:
            await (await voxagent_turn(client, server.base_url, wav, model, **options)())()
        bodies = [b for _, path, b in recorder.sent if path.endswith("/chat/completions")]
        async with httpx.AsyncClient(timeout=120) as client:
            url = f"{server.base_url}/chat/completions"
            times = await interleave(
                {
                    "bare": _ready(bare_turn(client, url, bodies)),
                    "voxagent": voxagent_turn(client, server.base_url, wav, model, **options),
                },
                repeats,
                warmup=2,
            )
    bare, vox = median(times["bare"]), median(times["voxagent"])
    return [
        Row(
            7,
            title,
            f"ratio voxagent / bare httpx **{vox / bare:.3f}** at the median (p95 ratio "
            f"{p95(times['voxagent']) / p95(times['bare']):.3f}); n={repeats}, "
            f"{len(bodies)} request(s)/turn; server start {startup:.0f} s",
            "ratio ~ 1 (negligible overhead)",
            vox / bare <= 1.05,
        )
    ]


if __name__ == "__main__":
    measured, size = anyio.run(measure_turns, 5)
    for row in turn_rows(measured, size):
        print(row)
