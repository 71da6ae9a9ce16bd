"""Measurement 8: memory and request size after 200 audio turns, compaction on and off.

    python tools/bench/memory.py on|off TURNS     # prints one JSON line (one process per run)

"on" is the default agent against a server with a 32k context: at most 5 audio items per request,
older voice messages compacted to their transcripts (fetched from the transcription endpoint).
"off" raises the audio limit and the context so that every clip is sent every time.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import anyio
import httpx
from common import MODEL, Recorder, Row, clip_wav, rss_bytes, server_process


async def run(mode: str, turns: int) -> dict[str, Any]:
    """Run `turns` audio turns on one agent; return RSS growth and the last request's size."""
    from voxagent import Agent

    wav = str(clip_wav(2.0, seed=3))
    compaction = mode == "on"
    max_model_len = 32768 if compaction else 10**9
    with server_process("text", max_model_len=max_model_len) as base_url:
        recorder = Recorder()
        async with httpx.AsyncClient(transport=recorder, timeout=120) as client:
            options: dict[str, Any] = {} if compaction else {"max_audio_items": 10**6}
            async with Agent(model=MODEL, base_url=base_url, http_client=client, **options) as a:
                await a.ask(audio=wav)
                baseline = rss_bytes()
                started = time.perf_counter()
                for _ in range(turns - 1):
                    await a.ask(audio=wav)
                    # Keep only the last chat body: the recorder would otherwise hold them all.
                    chats = [s for s in recorder.sent if s[1].endswith("/chat/completions")]
                    recorder.sent[:] = chats[-1:]
                    recorder.received.clear()
                wall = time.perf_counter() - started
                audio_parts = sum(
                    1
                    for message in json.loads(recorder.sent[-1][2])["messages"]
                    if isinstance(message.get("content"), list)
                    for part in message["content"]
                    if part.get("type") == "input_audio"
                )
                last = len(recorder.sent[-1][2])
    return {
        "mode": mode,
        "turns": turns,
        "rss_growth": rss_bytes() - baseline,
        "last_request": last,
        "audio_parts": audio_parts,
        "wall": wall,
    }


def rows(on: dict[str, Any], off: dict[str, Any]) -> list[Row]:
    """The table row for measurement 8."""
    return [
        Row(
            8,
            f"Long conversation: {on['turns']} turns of 2 s audio, compaction on vs off",
            f"on: RSS +{on['rss_growth'] / 1e6:.1f} MB, last request "
            f"**{on['last_request'] / 1e3:.0f} kB** ({on['audio_parts']} audio parts); off: "
            f"RSS +{off['rss_growth'] / 1e6:.1f} MB, last request "
            f"**{off['last_request'] / 1e6:.1f} MB** ({off['audio_parts']} audio parts)",
            "request size bounded with compaction",
            on["audio_parts"] <= 5 and on["last_request"] < off["last_request"],
        )
    ]


if __name__ == "__main__":
    print(json.dumps(anyio.run(run, sys.argv[1], int(sys.argv[2]))))
