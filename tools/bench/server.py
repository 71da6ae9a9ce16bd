"""The benchmark's scripted server process (voxagent.testing.ScriptedServer, answers instantly).

    python tools/bench/server.py MODE [MAX_MODEL_LEN]

Prints `{"base_url": ...}` once listening and stops when its stdin closes. Answers are functions
of the request, so any number of turns by any client get the same answers:
- turn: a `set_light` call, then (after the tool result) a short text answer;
- dispatch: `set_light` whose arguments complete early, then a second call whose arguments
  stream for about 500 ms, then a text answer after the results;
- text: a short text answer; transcriptions answer a short transcript;
- scale: a short text answer after 50 ms (simulated model latency).
Validation is off: it costs server CPU that would dilute the client's share in the ratios.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from voxagent.testing import Reply, ScriptedCall, ScriptedServer  # after the path

ANSWER = "The kitchen light is on."
LIGHT = ScriptedCall("set_light", {"room": "kitchen", "on": True})
# 32 fragments of 64 characters, 16 ms apart: the second call's arguments take ~500 ms.
NOTE = ScriptedCall("note", {"text": "x" * (64 * 32 - 12)})


def _after_tool(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or []
    return bool(messages) and messages[-1].get("role") == "tool"


def _turn(body: dict[str, Any]) -> Reply:
    return Reply.text(ANSWER) if _after_tool(body) else Reply(calls=(LIGHT,))


def _dispatch(body: dict[str, Any]) -> Reply:
    if _after_tool(body):
        return Reply.text(ANSWER)
    return Reply(calls=(LIGHT, NOTE), chunk_size=64, chunk_delay=0.016)


async def main(mode: str, max_model_len: int) -> None:
    answers = {
        "turn": _turn,
        "dispatch": _dispatch,
        "text": lambda _body: Reply.text("OK."),
        "scale": lambda _body: Reply.text("OK.", delay=0.05),
    }
    server = ScriptedServer(
        default=answers[mode],
        max_model_len=max_model_len,
        max_audio=10**6,
        validate=False,
        seed=None,
    )
    server.add_transcripts(*[Reply.text("turn on the light")] * 10_000)
    async with server, anyio.create_task_group() as tg:
        tg.start_soon(_forget, server)
        print(json.dumps({"base_url": server.base_url}), flush=True)
        # Stop when the parent closes our stdin (or dies).
        await anyio.to_thread.run_sync(sys.stdin.read)
        tg.cancel_scope.cancel()


async def _forget(server: ScriptedServer) -> None:
    """Drop recorded requests: thousands of audio bodies would otherwise fill the memory."""
    while True:
        await anyio.sleep(0.2)
        server.requests.clear()
        server.headers.clear()
        server.transcriptions.clear()


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 32768)
