"""Streamed tool-call arguments as a real vLLM 0.32 server sends them for a named tool_choice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from voxagent.client.sse import StreamAssembler, repair_streamed_arguments
from voxagent.client.types import ToolCallReady

# Fragments recorded from vLLM 0.32 (CPU build, tiny Voxtral, tool_choice naming set_light).
VLLM_FRAGMENTS = [':{', '"', "room", '":', '"', "k", "it", "ch", "e", "n", '","', "o", "n", '":',
                  "f", "als", "e", "}"]  # fmt: skip


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_the_leading_wrapper_tail_is_removed_and_the_call_is_ready_on_its_last_fragment() -> None:
    assembler = StreamAssembler()
    head = {"id": "8hdXF9sFx", "type": "function", "index": 0, "function": {"name": "set_light"}}
    items = assembler.feed(chunk({"tool_calls": [head]}))
    ready: list[ToolCallReady] = []
    for position, piece in enumerate(VLLM_FRAGMENTS):
        fragment = {"type": "function", "index": 0, "function": {"arguments": piece}}
        items = assembler.feed(chunk({"tool_calls": [fragment]}))
        found = [i for i in items if isinstance(i, ToolCallReady)]
        if found:
            assert position == len(VLLM_FRAGMENTS) - 1  # ready exactly when complete
        ready += found
    [call] = [r.call for r in ready]
    _, response = assembler.finish()
    assert response.tool_calls == (call,)
    assert json.loads(call.arguments) == {"room": "kitchen", "on": False}
    assert call.id == "8hdXF9sFx"


@pytest.mark.parametrize(
    ("raw", "repaired"),
    [
        (':{"a": 1}', '{"a": 1}'),
        (' : {"a": 1}', '{"a": 1}'),
        ('{"a": 1}', '{"a": 1}'),
        ("", ""),
        (':{"a": ', ':{"a": '),  # incomplete: left for validation to report
        ('xx{"a": 1}', 'xx{"a": 1}'),  # other junk is not guessed at
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_repair_only_strips_the_known_artifact(raw: str, repaired: str) -> None:
    assert repair_streamed_arguments(raw) == repaired
