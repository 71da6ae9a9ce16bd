"""The `voxagent` command in-process, against a scripted server running in a portal thread."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import anyio.from_thread
import pytest

from voxagent.cli import main
from voxagent.conversation import Conversation
from voxagent.testing import Reply, ScriptedServer

ROOT = Path(__file__).resolve().parents[2]
SMART_HOME = ROOT / "examples" / "smart_home.py"
WAV = ROOT / "examples" / "audio" / "kitchen_light_on.wav"


@pytest.fixture
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal


@pytest.fixture
def server(portal: anyio.from_thread.BlockingPortal) -> Iterator[ScriptedServer]:
    # The server's task group must start and stop in one task: let the portal own it.
    with portal.wrap_async_context_manager(ScriptedServer()) as scripted:
        yield scripted


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    assert isinstance(code, int)
    return code


def test_run_audio_with_jsonl_events_prints_only_json_and_saves(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    server.add(
        Reply.tool_call("set_light", {"room": "kitchen", "on": True}), Reply.text("Kitchen on.")
    )
    saved = tmp_path / "chat.json"
    code = run(
        "run", str(SMART_HOME), "--audio", str(WAV), "--base-url", server.base_url,
        "--tool-choice", "set_light", "--events", "jsonl", "--save", str(saved),
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "turn_started" and types[-1] == "turn_completed"
    assert "tool_call_started" in types
    finished = next(e for e in events if e["type"] == "tool_call_finished")
    assert finished["is_error"] is False and finished["name"] == "set_light"
    assert server.errors == []
    assert server.requests[0]["tool_choice"]["function"]["name"] == "set_light"
    assert len(Conversation.load(saved).turns) == 4  # user, assistant call, result, answer


def test_run_text_turns_in_order_with_pretty_output(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(Reply.text("One."), Reply.text("Two."))
    code = run(
        "run", str(SMART_HOME), "--text", "first", "--text", "second",
        "--base-url", server.base_url,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert out.index("One.") < out.index("Two.")
    assert [r["messages"][-1]["content"] for r in server.requests] == ["first", "second"]


def test_server_down_is_one_clear_error_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nobody listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    code = run("run", str(SMART_HOME), "--text", "hi", "--base-url", url)
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ")
    assert "hint:" in err
    assert "Traceback" not in err


def test_a_failed_turn_exits_1_after_saving_what_was_recorded(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    server.add(Reply.error(401, "bad key"))
    saved = tmp_path / "chat.json"
    code = run(
        "run", str(SMART_HOME), "--text", "hi", "--base-url", server.base_url,
        "--save", str(saved),
    )  # fmt: skip
    assert code == 1
    assert "bad key" in capsys.readouterr().err
    [user] = Conversation.load(saved).turns
    assert user.text == "hi"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "missing.py", "--text", "x"], "no such file"),
        (["run", str(SMART_HOME)], "nothing to do"),
        (["run", f"{SMART_HOME}:nobody", "--text", "x"], "no Agent named 'nobody'"),
        (["run"], ""),
        (["frobnicate"], ""),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(*argv) == 2
    assert message in capsys.readouterr().err


def test_transcribe_prints_the_transcript(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add_transcripts(Reply.text("turn on the kitchen light"))
    code = run("transcribe", str(WAV), "--base-url", server.base_url, "--language", "en")
    assert code == 0
    assert capsys.readouterr().out.strip() == "turn on the kitchen light"
    [request] = server.transcriptions
    assert request.fields.get("language") == "en"


def test_doctor_reports_each_check(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(Reply.tool_call("probe", {"ok": True}))
    run("doctor", "--base-url", server.base_url)
    out = capsys.readouterr().out
    assert "[ok  ] server" in out
    assert "[ok  ] model: voxtral-test served, max_model_len=32768" in out
    assert "[ok  ] tool calling: enabled" in out


def test_doctor_without_a_server_fails_with_a_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOXAGENT_BASE_URL", raising=False)
    assert run("doctor") == 1
    out = capsys.readouterr().out
    assert "[FAIL] server: no server URL" in out and "voxagent serve" in out
