"""The `voxagent` command against hostile surroundings: narrow terminals, bad argv, bad paths,
hostile files, a closed stdout, an app that calls `sys.exit`, no microphone, hostile model text.

Each case must end with its own one-line error and hint (or quietly, for a closed stdout) and a
documented exit code, never a traceback or "ExceptionGroup". Cases where the encoding, the pipe
or the locale matter run the CLI as a real subprocess; the others call `main()` in-process. The
scripted server runs in a portal thread of the test process either way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest

from voxagent.cli import main
from voxagent.client import ToolCall
from voxagent.conversation import Conversation
from voxagent.testing import Reply, ScriptedServer

ROOT = Path(__file__).resolve().parents[2]

APP = '''
from voxagent import Agent, tool

@tool
def quit_now(code: int) -> str:
    """Stop everything.

    Args:
        code: The exit code.
    """
    raise SystemExit(code)

@tool
async def quit_with_message(message: str) -> str:
    """Stop everything, with a message.

    Args:
        message: What to say.
    """
    raise SystemExit(message)

@tool(confirm=True)
def unlock(note: str) -> str:
    """Unlock the door.

    Args:
        note: Why.
    """
    return "unlocked"

agent = Agent(tools=[quit_now, quit_with_message, unlock])
'''

SAYS = "h\u00e9llo \u2603 \u65e5\u672c"  # é is latin-1, the snowman and the kanji are not


@pytest.fixture
def portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal


@pytest.fixture
def server(portal: anyio.from_thread.BlockingPortal) -> Iterator[ScriptedServer]:
    with portal.wrap_async_context_manager(ScriptedServer()) as scripted:
        yield scripted


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(APP)
    return path


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    assert isinstance(code, int)
    return code


def command(*argv: str | bytes) -> list[str | bytes]:
    return [sys.executable, "-m", "voxagent.cli", *argv]


def run_cli(
    *argv: str | bytes, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI as a subprocess, the way a shell would."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run(command(*argv), env=merged, capture_output=True, cwd=ROOT, timeout=60)


def assert_no_crash(stderr: str) -> None:
    assert "Traceback" not in stderr and "ExceptionGroup" not in stderr, stderr


# ------------------------------------------------------------------ terminals and argv


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PYTHONIOENCODING": "latin-1"}, "h\u00e9llo ? ??".encode("latin-1")),
        ({"PYTHONIOENCODING": "ascii"}, b"h?llo ? ??"),
        # The C locale without UTF-8 mode: ASCII with surrogateescape, which raises as well.
        ({"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}, b"h?llo ? ??"),
    ],
    ids=["latin-1", "ascii", "C-locale"],
)
def test_a_terminal_that_cannot_encode_the_answer_shows_replacements(
    server: ScriptedServer, app: Path, env: dict[str, str], expected: bytes
) -> None:
    server.add(Reply.text(SAYS))
    done = run_cli("run", str(app), "--text", "hi", "--base-url", server.base_url, env=env)
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, stderr
    assert b"assistant: " + expected + b"\n" in done.stdout
    assert_no_crash(stderr)


def test_a_text_argument_that_is_not_utf8_becomes_replacement_characters(
    server: ScriptedServer, app: Path
) -> None:
    server.add(Reply.text("ok"))
    done = run_cli(
        "run", str(app), "--text", b"caf\xff", "--base-url", server.base_url,
        env={"PYTHONIOENCODING": "utf-8"},
    )  # fmt: skip
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert server.requests[0]["messages"][-1]["content"] == "caf\ufffd"
    assert "turn 1: 'caf\ufffd'" in done.stdout.decode()  # shown as sent, not as '\udcff'
    assert stderr.splitlines()[0].startswith("warning: --text is not valid text")
    assert_no_crash(stderr)


# ------------------------------------------------------------------ --save and --load


@pytest.mark.parametrize("where", ["missing/dir/chat.json", "."])
def test_save_into_a_missing_directory_or_onto_a_directory_is_refused_before_any_request(
    server: ScriptedServer,
    app: Path,
    tmp_path: Path,
    where: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / where
    code = run(
        "run", str(app), "--text", "hi", "--base-url", server.base_url, "--save", str(target)
    )
    err = capsys.readouterr().err
    assert code == 2
    [line] = err.splitlines()  # one line: what failed, why and what to do
    assert line.startswith(f"usage error: --save {target}: ")
    assert ("mkdir -p" in line) if where != "." else ("is a directory" in line)
    assert server.requests == []  # refused before a turn was spent
    assert_no_crash(err)


def _saved_conversation(path: Path, arguments: str) -> None:
    conversation = Conversation(None)
    conversation.add_user(text="hi")
    conversation.add_assistant(None, [ToolCall(id="abcdefghi", name="unlock", arguments="{}")])
    conversation.add_tool_result("abcdefghi", "unlock", "unlocked")
    conversation.add_assistant("Done.")
    conversation.save(path)
    text = path.read_text().replace('"arguments": "{}"', f'"arguments": {arguments}')
    path.write_text(text)


def test_load_of_a_file_nested_too_deep_is_one_error_before_any_request(
    server: ScriptedServer, app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "deep.json"
    _saved_conversation(saved, '{"a": ' * 100_000 + "1" + "}" * 100_000)
    code = run("run", str(app), "--load", str(saved), "--text", "hi", "--base-url", server.base_url)
    err = capsys.readouterr().err
    assert code == 1
    message, hint = err.splitlines()
    assert message.startswith("error: ") and "deep.json" in message and "nested" in message
    assert hint.startswith("  hint: ")
    assert server.requests == []
    assert_no_crash(err)


def test_load_of_saved_arguments_nested_too_deep_still_continues_the_conversation(
    server: ScriptedServer, app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "deep-arguments.json"
    _saved_conversation(saved, json.dumps('{"a": ' * 100_000 + "1" + "}" * 100_000))
    server.add(Reply.text("Still here."))
    code = run("run", str(app), "--load", str(saved), "--text", "hi", "--base-url", server.base_url)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Still here." in captured.out
    assert server.errors == []  # the request built from that file is one vLLM accepts
    assert_no_crash(captured.err)


# ------------------------------------------------------------------ a closed stdout


def _with_stdout_closed(*argv: str) -> tuple[int, str]:
    """Run the CLI with a stdout pipe whose reader is already gone (`| head -c0`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            command(*argv), stdout=write_end, stderr=subprocess.PIPE, cwd=ROOT, timeout=60
        )
    finally:
        os.close(write_end)
    return done.returncode, done.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("events", ["pretty", "jsonl"])
def test_a_closed_stdout_stops_the_run_quietly_with_141_after_saving(
    server: ScriptedServer, app: Path, tmp_path: Path, events: str
) -> None:
    server.add(Reply.text("one"), Reply.text("two"))
    saved = tmp_path / "chat.json"
    code, stderr = _with_stdout_closed(
        "run", str(app), "--text", "first", "--text", "second", "--events", events,
        "--base-url", server.base_url, "--save", str(saved),
    )  # fmt: skip
    assert code == 141, stderr
    assert stderr == ""  # quiet, like any Unix tool on a closed pipe
    # Stopped at the first write: the second turn never ran, and what was recorded is saved.
    assert [r["messages"][-1]["content"] for r in server.requests] in ([], ["first"])
    assert Conversation.load(saved).turns[0].text == "first"


def test_a_closed_stdout_while_transcribing_is_141_and_quiet(server: ScriptedServer) -> None:
    server.add_transcripts(Reply.text("turn on the kitchen light"))
    wav = ROOT / "examples" / "audio" / "kitchen_light_on.wav"
    code, stderr = _with_stdout_closed("transcribe", str(wav), "--base-url", server.base_url)
    assert (code, stderr) == (141, "")


# ------------------------------------------------------------------ sys.exit from the app


def test_an_app_that_calls_sys_exit_at_import_exits_with_its_code_and_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "leaves.py"
    app.write_text("import sys\nsys.exit(4)\n")
    assert run("run", str(app), "--text", "hi") == 4
    err = capsys.readouterr().err
    message, hint = err.splitlines()
    assert message == "error: the app called sys.exit(4), which ends the whole run"
    assert hint.startswith("  hint: in a tool, raise ToolError")


# Needs the Agent to let a tool's SystemExit out unwrapped (no BaseExceptionGroup).
@pytest.mark.parametrize(
    ("reply", "code", "message"),
    [
        (
            Reply.tool_call("quit_now", {"code": 3}),
            3,
            "error: the app called sys.exit(3), which ends the whole run",
        ),
        (Reply.tool_call("quit_with_message", {"message": "bye\x1b[2J"}), 1, "error: bye\\x1b[2J"),
    ],
    ids=["sync-int", "async-message"],
)
def test_a_tool_that_calls_sys_exit_exits_with_its_code_and_one_line(
    server: ScriptedServer,
    app: Path,
    capsys: pytest.CaptureFixture[str],
    reply: Reply,
    code: int,
    message: str,
) -> None:
    server.add(reply, Reply.text("never"))
    assert run("run", str(app), "--text", "hi", "--base-url", server.base_url) == code
    err = capsys.readouterr().err
    assert err.splitlines()[0] == message
    assert_no_crash(err)


# ------------------------------------------------------------------ --mic


class _NoDeviceError(Exception):
    """What PortAudio raises opening the default input when there is none."""


def _fake_sounddevice(devices: list[dict[str, Any]]) -> types.ModuleType:
    module = types.ModuleType("sounddevice")

    def query_devices() -> list[dict[str, Any]]:
        return devices

    class InputStream:
        def __init__(self, **_: Any) -> None:
            raise _NoDeviceError("Error querying device -1")

    module.query_devices = query_devices  # type: ignore[attr-defined]
    module.default = types.SimpleNamespace(device=(-1 if not devices else 0, -1))  # type: ignore[attr-defined]
    module.InputStream = InputStream  # type: ignore[attr-defined]
    module.PortAudioError = _NoDeviceError  # type: ignore[attr-defined]
    return module


def test_mic_without_any_input_device_exits_1_saying_so(
    server: ScriptedServer,
    app: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice([]))
    assert run("run", str(app), "--mic", "--base-url", server.base_url) == 1
    err = capsys.readouterr().err
    message, hint = err.splitlines()
    assert message.startswith("error: no input device")
    assert "close other programs" not in err  # the hint for a busy device, not a missing one
    assert hint.startswith("  hint: connect or enable a microphone")
    assert server.requests == []


def test_mic_that_fails_to_open_ends_listening_with_exit_1(
    server: ScriptedServer,
    app: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    device = {"name": "USB mic", "max_input_channels": 1, "default_samplerate": 16000.0}
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice([device]))
    code = run("run", str(app), "--mic", "--events", "jsonl", "--base-url", server.base_url)
    captured = capsys.readouterr()
    assert code == 1, captured.err
    # Reported as a final error event (listening stops), or as the one error line if listen()
    # raises it instead; either way not exit 0.
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert all(e["type"] == "error" and e["recoverable"] is False for e in events)
    assert "cannot open the microphone" in captured.out + captured.err
    assert_no_crash(captured.err)


# ------------------------------------------------------------------ --approve prompt


class _Tty:
    """stdin as a terminal that answers from a list."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self.answers.pop(0) if self.answers else ""


def test_approve_prompt_shows_model_text_escaped_and_asks_each_call_in_turn(
    server: ScriptedServer,
    app: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    disguise = '\x1b[2K\r  approve set_light(room="kitchen")? [y/N] '
    server.add(
        Reply.tool_calls(("unlock", {"note": disguise}), ("unlock", {"note": "second"})),
        Reply.text("Done \x1b[31mreally\x1b[0m."),
    )
    monkeypatch.setattr(sys, "stdin", _Tty("y\n", "n\n"))
    assert (
        run("run", str(app), "--approve", "prompt", "--text", "x", "--base-url", server.base_url)
        == 0
    )
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "\x1b" not in shown and "\r" not in shown
    questions = [q for q in captured.err.split("[y/N] ") if "approve unlock(" in q]
    assert len(questions) == 2  # two questions, each on its own prompt
    assert "\\x1b[2K\\r" in questions[0] or "\\u001b[2K\\r" in questions[0]
    assert "Done \\x1b[31mreally\\x1b[0m." in captured.out
    results = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert [r["content"] == "unlocked" for r in results] == [True, False]


def test_jsonl_events_stay_ascii_json_whatever_the_model_says(
    server: ScriptedServer, app: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(Reply.text(SAYS + "\x1b[2J\ud800"))
    code = run("run", str(app), "--text", "x", "--events", "jsonl", "--base-url", server.base_url)
    out = capsys.readouterr().out
    assert code == 0
    assert out.isascii() and "\x1b" not in out
    assert all(json.loads(line) for line in out.splitlines())


def test_live_captions_without_any_input_device_exit_1_saying_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", _fake_sounddevice([]))
    code = run("transcribe", "--live", "--model", "rt", "--base-url", "http://127.0.0.1:9/v1")
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: no input device") and "close other programs" not in err


# Needs the Agent not to wrap errors raised in the body of `async with agent` in a group.
def test_a_save_that_fails_mid_run_is_one_error_line_and_exit_1(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    app = tmp_path / "cleaner.py"
    app.write_text(
        "import shutil\nfrom voxagent import Agent, tool\n\n"
        "@tool\ndef tidy() -> str:\n"
        '    """Remove the output directory."""\n'
        f"    shutil.rmtree({str(out)!r})\n"
        '    return "tidied"\n\n'
        "agent = Agent(tools=[tidy])\n"
    )
    server.add(Reply.tool_call("tidy", {}), Reply.text("Tidied."))
    code = run(
        "run", str(app), "--text", "tidy up", "--base-url", server.base_url,
        "--save", str(out / "chat.json"),
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    message, hint = err.splitlines()
    assert message.startswith(f"error: Cannot save the conversation to {out / 'chat.json'}")
    assert hint.startswith("  hint: ")
