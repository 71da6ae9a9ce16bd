"""The `voxagent` command in-process, against a scripted server running in a portal thread."""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.from_thread
import pytest

from voxagent import events as ev
from voxagent.approval import ApprovalRequest, TerminalApproval, denial_message
from voxagent.cli import Printer, main
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


# ------------------------------------------------------------------ --approve prompt


class FakeTerminal:
    """A tty on stdin: `readline` (run on the CLI's reader thread) blocks until released."""

    def __init__(self, answers: list[str], stderr: io.StringIO) -> None:
        self.answers = list(answers)
        self.stderr = stderr
        self.release = threading.Event()
        self.questions_shown_at_read: list[int] = []

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        self.questions_shown_at_read.append(self.stderr.getvalue().count("[y/N]"))
        # Released by the test's event loop: if reading blocked the loop, this times out and
        # the answer is end-of-input (a denial), which the tests catch.
        if not self.release.wait(2):
            return ""
        return self.answers.pop(0)


def approval(note: str) -> ApprovalRequest:
    return ApprovalRequest(f"id{note}", "unlock", {"note": note}, f"Run unlock(note={note})?")


@pytest.mark.anyio
async def test_prompt_asks_one_question_at_a_time_and_never_blocks_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    terminal = FakeTerminal(["y\n", "n\n"], stderr)
    approve = TerminalApproval(stdin=terminal)  # type: ignore[arg-type]  # a duck-typed tty
    answers: dict[str, bool] = {}

    async def ask(note: str) -> None:
        answers[note] = await approve(approval(note))

    async with anyio.create_task_group() as tg:
        tg.start_soon(ask, "first")
        await anyio.sleep(0.05)
        tg.start_soon(ask, "second")
        for _ in range(10):  # the loop keeps running while stdin is being read
            await anyio.sleep(0.01)
        assert stderr.getvalue().count("[y/N]") == 1  # the second question waits its turn
        terminal.release.set()
    assert answers == {"first": True, "second": False}
    assert terminal.questions_shown_at_read == [1, 2]  # each answer read under its question


@pytest.mark.anyio
async def test_prompt_escapes_control_characters_the_model_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    terminal = FakeTerminal(["n\n"], stderr)
    terminal.release.set()
    approve = TerminalApproval(stdin=terminal)  # type: ignore[arg-type]  # a duck-typed tty
    hostile = 'x"\x1b[2K\r  approve set_light(room="kitchen")\u202e'
    request = ApprovalRequest("id1", "unlock\x1b[8m", {"note": hostile}, "?")
    assert await approve(request) is False
    shown = stderr.getvalue()
    assert "\x1b" not in shown and "\r" not in shown and "\u202e" not in shown
    assert "unlock\\x1b[8m(note=" in shown
    assert '\\"\\u001b[2K\\r' in shown  # JSON-quoted, so it cannot pose as the call's end


@pytest.mark.anyio
async def test_prompt_drops_a_line_typed_after_its_question_was_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    terminal = FakeTerminal(["y\n", "n\n"], stderr)
    approve = TerminalApproval(stdin=terminal)  # type: ignore[arg-type]  # a duck-typed tty
    with anyio.move_on_after(0.1):
        await approve(approval("cancelled"))  # e.g. the user barged in
    terminal.release.set()  # the "y" meant for the vanished question arrives now
    await anyio.sleep(0.1)
    assert await approve(approval("next")) is False  # answered by the next line, "n"
    assert terminal.answers == []


@pytest.mark.anyio
async def test_prompt_without_a_terminal_denies_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    denied = await TerminalApproval(stdin=io.StringIO("y\n"))(approval("a"))
    assert not denied and "no terminal on stdin" in denial_message("a", denied)
    assert "no terminal on stdin to ask" in stderr.getvalue()


# ------------------------------------------------------------------ output


def test_pretty_output_escapes_what_a_terminal_would_act_on() -> None:
    out = io.StringIO()
    printer = Printer("pretty", out)
    printer(ev.AssistantTextDelta(text="line one\n\x1b[2Aover\rwrite\u202e"))
    printer(ev.AssistantMessage(text=""))
    printer(ev.ToolCallFinished(call_id="c", name="f", result="\x1b]0;title\x07", is_error=False,
                                duration=0.0))  # fmt: skip
    printer(ev.ErrorEvent(message="bad \x1b[31m", error_type="X", hint="\x9b hint"))
    text = out.getvalue()
    assert not any(ch in text for ch in "\x1b\r\u202e\x07\x9b")
    assert "assistant: line one\n\\x1b[2Aover\\rwrite\\u202e\n" in text  # newlines kept
    assert "\\x1b]0;title\\x07" in text and "bad \\x1b[31m" in text and "\\x9b hint" in text


def test_speculation_is_told_in_both_output_modes() -> None:
    pretty, jsonl = io.StringIO(), io.StringIO()
    for printer in (Printer("pretty", pretty), Printer("jsonl", jsonl)):
        printer(ev.SpeechPaused(at=1.5, probability=0.9))
        printer(ev.SpeculationDiscarded(at=1.5, reason="speech resumed", tools_run=("weather",)))
        printer(ev.TurnStarted(turn_id=3, has_audio=True, speculative=True))
    assert "discarded: speech resumed" in pretty.getvalue()
    assert "turn 3: audio (answer prepared at the pause)" in pretty.getvalue()
    lines = [json.loads(line) for line in jsonl.getvalue().splitlines()]
    assert [line["type"] for line in lines] == [
        "speech_paused",
        "speculation_discarded",
        "turn_started",
    ]
    assert lines[1]["tools_run"] == ["weather"] and lines[2]["speculative"] is True


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("mode", ["pretty", "jsonl"])
def test_a_closed_stdout_stops_the_printer_and_calls_back_once(mode: str) -> None:
    calls: list[str] = []
    printer = Printer(mode, ClosedPipe(), on_closed=lambda: calls.append("closed"))
    printer(ev.TurnStarted(turn_id=1, has_audio=False, text="hi"))
    printer(ev.TurnStarted(turn_id=2, has_audio=False, text="again"))
    assert printer.closed and calls == ["closed"]


def test_doctor_never_prints_a_password_from_the_base_url(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(Reply.tool_call("probe", {"ok": True}))
    with_password = server.base_url.replace("http://", "http://me:hunter2@")
    run("doctor", "--base-url", with_password)
    captured = capsys.readouterr()
    assert "[ok  ] server" in captured.out
    assert "hunter2" not in captured.out + captured.err


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--max-tokens", "-5", "must be greater than 0"),
        ("--max-tokens", "0", "must be greater than 0"),
        ("--max-tokens", "many", "is not a number"),
        ("--request-timeout", "0", "must be greater than 0"),
        ("--request-timeout", "inf", "must be greater than 0"),
        ("--request-timeout", "nan", "must be greater than 0"),
    ],
)
def test_numbers_that_cannot_work_are_usage_errors_in_plain_words(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str], flag: str, value: str, said: str
) -> None:
    code = run("run", str(SMART_HOME), "--text", "hi", "--base-url", server.base_url, flag, value)
    assert code == 2
    err = capsys.readouterr().err
    assert said in err and "Budget" not in err and "reserve_tokens" not in err
    assert server.requests == []


def test_a_tool_choice_naming_no_tool_of_the_app_is_refused_before_any_request(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        "run", str(SMART_HOME), "--text", "hi", "--base-url", server.base_url,
        "--tool-choice", "not_a_tool",
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "not_a_tool" in err and "set_light" in err  # it lists the app's tools
    assert server.requests == []


def test_an_unknown_option_is_named_and_a_missing_command_lists_the_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("--bogus") == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert run() == 2
    err = capsys.readouterr().err
    assert "choose a command: run, serve" in err and "required: command" not in err


def test_run_without_any_server_says_what_to_pass_in_command_line_terms(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOXAGENT_BASE_URL", raising=False)
    assert run("run", str(SMART_HOME), "--text", "hi") == 2
    err = capsys.readouterr().err
    assert "--base-url http://HOST:PORT/v1" in err and "--model MODEL" in err
    assert "model=..." not in err and "base_url=" not in err  # no Python syntax for a CLI user


@pytest.mark.parametrize(("flags", "code", "mark"), [((), 0, "warn"), (("--mic",), 1, "FAIL")])
def test_doctor_without_a_microphone_warns_unless_mic_is_asked_for(
    server: ScriptedServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: tuple[str, ...],
    code: int,
    mark: str,
) -> None:
    import voxagent.audio

    monkeypatch.setattr(voxagent.audio, "list_input_devices", lambda: [])
    server.add(Reply.tool_call("probe", {"ok": True}))
    assert run("doctor", "--base-url", server.base_url, *flags) == code
    out = capsys.readouterr().out
    assert f"[{mark}] microphone: no input device" in out
    assert "[ok  ] server" in out


def test_pair_makes_audio_and_text_one_turn(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(Reply.text("Bonjour."), Reply.text("Two."))
    code = run(
        "run", str(SMART_HOME), "--audio", str(WAV), "--text", "answer in French", "--pair",
        "--text", "and a text turn", "--base-url", server.base_url, "--events", "jsonl",
    )  # fmt: skip
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    started = [e for e in events if e["type"] == "turn_started"]
    assert [(e["has_audio"], e["text"]) for e in started] == [
        (True, "answer in French"),
        (False, "and a text turn"),
    ]
    assert len(server.requests) == 2 and server.errors == []
    parts = server.requests[0]["messages"][-1]["content"]
    assert {p["type"] for p in parts} == {"input_audio", "text"}
    assert any(p.get("text") == "answer in French" for p in parts)


def test_without_pair_audio_and_text_stay_two_turns() -> None:
    from voxagent.cli import turn_inputs

    inputs = [("audio", "a.wav"), ("text", "x"), ("audio", "b.wav"), ("audio", "c.wav")]
    assert turn_inputs(inputs) == [("a.wav", None), (None, "x"), ("b.wav", None), ("c.wav", None)]
    inputs = [("text", "t"), ("audio", "a.wav"), ("text", "x"), ("text", "y")]
    assert turn_inputs(inputs, pair=True) == [(None, "t"), ("a.wav", "x"), (None, "y")]


def test_approve_prompt_without_a_terminal_tells_the_whole_story(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add(Reply.tool_call("unlock_front_door", {}), Reply.text("I could not unlock it."))
    code = run(
        "run", str(SMART_HOME), "--text", "unlock the door", "--approve", "prompt",
        "--base-url", server.base_url, "--events", "jsonl",
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    events = [json.loads(line) for line in captured.out.splitlines()]
    story = [e for e in events if e["type"].startswith(("tool_call", "confirmation"))]
    assert [e["type"] for e in story] == ["confirmation_requested", "tool_call_finished"]
    asked, finished = story
    assert asked["name"] == finished["name"] == "unlock_front_door"
    assert asked["call_id"] == finished["call_id"]
    assert finished["error_kind"] == "denied" and finished["is_error"] is True
    assert "no terminal on stdin to ask" in finished["result"]  # the why, in the event
    lines = [line for line in captured.err.splitlines() if "denied" in line]
    assert lines == [
        "  denied unlock_front_door(): there is no terminal on stdin to ask (--approve prompt "
        "needs one; a script chooses --approve always or never)"
    ]
    # The model was told the same reason.
    assert "no terminal on stdin" in server.requests[1]["messages"][-1]["content"]


def test_transcribe_progress_goes_to_stderr_only(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.add_transcripts(Reply.text("turn on the kitchen light", delay=0.2))
    code = run("transcribe", str(WAV), "--base-url", server.base_url, "--progress")
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out == "turn on the kitchen light\n"  # the result alone on stdout
    assert "transcribing 2 s of audio..." not in captured.out
    assert captured.err == ""  # forced progress writes a line every 10 s: none this soon


def test_transcribe_url_takes_compactions_transcripts_from_that_server(
    server: ScriptedServer,
    portal: anyio.from_thread.BlockingPortal,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Eight spoken turns with 5 clips a request at most: the older ones are compacted, and
    # their transcripts are asked for ahead, while the later turns' chat requests run.
    server.add(*[Reply.text("ok")] * 8)
    with portal.wrap_async_context_manager(
        ScriptedServer(default=Reply.text("the words"))
    ) as transcriber:
        code = run(
            "run", str(SMART_HOME), "--audio", *[str(WAV)] * 8, "--base-url", server.base_url,
            "--transcribe-url", transcriber.base_url,
        )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert transcriber.transcriptions and transcriber.requests == []  # it only transcribed
    assert server.transcriptions == [] and len(server.requests) == 8  # chat only, as before
    assert server.errors == [] and transcriber.errors == []
