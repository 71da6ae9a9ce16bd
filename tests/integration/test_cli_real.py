"""The `voxagent` command as a subprocess against the real vLLM CPU server.

`voxagent run examples/smart_home.py --audio ... --tool-choice set_light --events jsonl` must do a
whole tool round and print only JSON lines; `transcribe` prints text; `doctor` reports the server,
the model and tool calling as working (this machine may have no microphone: that line only warns).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from voxagent.conversation import AssistantTurn, Conversation, ToolResultTurn, UserTurn

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
KITCHEN = ROOT / "examples" / "audio" / "kitchen_light_on.wav"


def _voxagent(*args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the CLI the way a shell script would (the interpreter running these tests)."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("VOXAGENT_BASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "voxagent.cli", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_run_with_a_named_tool_choice_prints_json_lines_and_saves(
    vllm_chat_server: Any, tmp_path: Path
) -> None:
    saved = tmp_path / "conversation.json"
    done = _voxagent(
        "run",
        "examples/smart_home.py",
        "--audio",
        KITCHEN,
        "--tool-choice",
        "set_light",
        "--events",
        "jsonl",
        "--max-tokens",
        "64",
        "--base-url",
        vllm_chat_server.base_url,
        "--model",
        vllm_chat_server.model,
        "--save",
        saved,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines
    events = [json.loads(line) for line in lines]  # stdout is JSON lines and nothing else
    assert all(isinstance(event, dict) and "type" in event for event in events)
    types = [event["type"] for event in events]
    for expected in ("tool_call_started", "tool_call_finished", "turn_completed"):
        assert types.count(expected) == 1, types
    assert types.index("tool_call_started") < types.index("tool_call_finished")
    assert types.index("tool_call_finished") < types.index("turn_completed")
    started = events[types.index("tool_call_started")]
    finished = events[types.index("tool_call_finished")]
    assert started["name"] == finished["name"] == "set_light"
    assert started["arguments"]["room"] in {"kitchen", "bedroom", "living_room", "bathroom"}
    assert finished["is_error"] is False, finished
    assert finished["call_id"] == started["call_id"]
    assert "error" not in types
    # The saved conversation loads, holding the whole round with the server's call id.
    conversation = Conversation.load(saved)
    shapes = [type(turn) for turn in conversation.turns]
    assert shapes == [UserTurn, AssistantTurn, ToolResultTurn, AssistantTurn]
    first_answer = conversation.turns[1]
    assert isinstance(first_answer, AssistantTurn)
    assert first_answer.tool_calls[0].id == started["call_id"]
    spoken = conversation.turns[0]
    assert isinstance(spoken, UserTurn) and spoken.audio is not None


def test_transcribe_prints_text(vllm_chat_server: Any) -> None:
    done = _voxagent(
        "transcribe",
        KITCHEN,
        "--base-url",
        vllm_chat_server.base_url,
        "--model",
        vllm_chat_server.model,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_doctor_reports_server_and_tool_calling(vllm_chat_server: Any) -> None:
    done = _voxagent(
        "doctor", "--base-url", vllm_chat_server.base_url, "--model", vllm_chat_server.model
    )
    lines = done.stdout.splitlines()
    # Lines look like "[ok  ] server: http://... reachable (vllm)".
    by_check = {
        line.split("]", 1)[1].split(":", 1)[0].strip(): line for line in lines if "]" in line
    }
    assert by_check["server"].startswith("[ok  ]"), done.stdout
    assert vllm_chat_server.base_url in by_check["server"]
    assert by_check["model"].startswith("[ok  ]"), done.stdout
    assert "max_model_len=4096" in by_check["model"]
    assert by_check["tool calling"].startswith("[ok  ]"), done.stdout
    # A machine without a sound card (CI) only gets a warning: the run itself needs no microphone.
    failing = {name for name, line in by_check.items() if line.startswith("[FAIL]")}
    assert failing == set(), done.stdout
    assert by_check["microphone"].startswith(("[ok  ]", "[warn]")), done.stdout
    assert done.returncode == 0, done.stderr


def test_run_continues_a_saved_conversation(vllm_chat_server: Any, tmp_path: Path) -> None:
    saved = tmp_path / "conversation.json"
    common = [
        "--events",
        "jsonl",
        "--max-tokens",
        "64",
        "--base-url",
        vllm_chat_server.base_url,
        "--model",
        vllm_chat_server.model,
        "--save",
        saved,
    ]
    first = _voxagent("run", "examples/smart_home.py", "--audio", KITCHEN, *common)
    assert first.returncode == 0, first.stderr
    before = Conversation.load(saved).turns
    assert [type(turn) for turn in before] == [UserTurn, AssistantTurn]  # "auto": text only
    again = _voxagent(
        "run",
        "examples/smart_home.py",
        "--load",
        saved,
        "--audio",
        ROOT / "examples" / "audio" / "bedroom_light_off.wav",
        "--text",
        "And the kitchen?",
        "--tool-choice",
        "set_light",
        *common,
    )
    assert again.returncode == 0, again.stderr
    types = [json.loads(line)["type"] for line in again.stdout.splitlines()]
    assert types.count("turn_completed") == 2
    assert "error" not in types
    after = Conversation.load(saved).turns
    assert after[: len(before)] == before  # the earlier turns kept as they were
    assert len(after) == len(before) + 8  # two turns, each: user, call, result, answer
    ids = [call.id for turn in after if isinstance(turn, AssistantTurn) for call in turn.tool_calls]
    assert len(ids) == len(set(ids)) == 2
