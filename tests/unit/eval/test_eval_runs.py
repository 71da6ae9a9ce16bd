"""The runner through the command line: perturbations reach the server, seeded; hostile model
output is scored and shown safely; failures are recorded, not raised; usage errors exit 2."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import anyio.from_thread
import numpy as np
import pytest
import soundfile as sf

from voxagent.cli import main
from voxagent.testing import Reply, ScriptedRequest, ScriptedServer

ROOT = Path(__file__).resolve().parents[3]
SMART_HOME = ROOT / "examples" / "smart_home.py"

SUITE = """
[suite]
name = "runs"
[[cases]]
id = "light"
tags = ["en"]
audio = "takes"
expect.calls = [{ tool = "set_light", args = { room = "kitchen" } }]
[[cases]]
id = "typed"
text = "hello"
expect.no_call = true
"""


def speechlike(path: Path, seconds: float = 1.0, freq: float = 300.0) -> None:
    t = np.arange(int(seconds * 16000)) / 16000
    body = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    body[:3200] = 0
    body[-3200:] = 0
    sf.write(path, body, 16000, subtype="PCM_16")


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "takes").mkdir()
    speechlike(tmp_path / "takes" / "alice.wav")
    speechlike(tmp_path / "takes" / "bob.wav", freq=500.0)
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    return path


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    assert isinstance(code, int)
    return code


def heard(request: dict[str, Any]) -> bytes | None:
    for message in request["messages"]:
        if isinstance(message.get("content"), list):
            for part in message["content"]:
                if part.get("type") == "input_audio":
                    return base64.b64decode(part["input_audio"]["data"])
    return None


def answer(request: ScriptedRequest) -> Reply:
    if request["messages"][-1]["role"] == "tool":
        return Reply.text("Done.")
    if heard(request) is None:
        return Reply.text("Hello!")
    return Reply.tool_call("set_light", {"room": "kitchen", "on": True})


def eval_once(
    portal: anyio.from_thread.BlockingPortal, suite: Path, out: Path, *extra: str
) -> tuple[int, dict[str, Any], list[bytes]]:
    with portal.wrap_async_context_manager(ScriptedServer(default=answer)) as server:
        code = run(
            "eval", str(suite), "--app", str(SMART_HOME), "--base-url", server.base_url,
            "--dry-tools", "--json", str(out), *extra,
        )  # fmt: skip
        # The first request of each turn (a tool round's request carries the clip again).
        firsts = [r for r in server.requests if r["messages"][-1]["role"] == "user"]
        clips = [c for r in firsts if (c := heard(r)) is not None]
        assert server.errors == []
    return code, json.loads(out.read_text()), clips


def test_perturbed_takes_reach_the_server_and_the_same_seed_sends_the_same_audio(
    portal: anyio.from_thread.BlockingPortal, suite: Path, tmp_path: Path
) -> None:
    noise = tmp_path / "cafe.wav"
    sf.write(noise, np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1, 8000)
    args = ("--snr", "5", "--noise", str(noise), "--speed", "1.1", "--telephone",
            "--concurrency", "3")  # fmt: skip
    code, report, clips = eval_once(portal, suite, tmp_path / "a.json", *args)
    assert code == 0
    # 2 takes x 4 presentations for the audio case, the typed case once (clean only).
    assert report["runs"] == 9
    assert report["variants"] == ["clean", "file5dB", "speed1.1", "telephone"]
    runs = sorted({o["run_id"] for o in report["outcomes"]})
    assert runs == sorted(
        [f"light/{t}{v}" for t in ("alice", "bob") for v in ("", "@file5dB", "@speed1.1",
                                                             "@telephone")] + ["typed"]
    )  # fmt: skip
    assert {"perturb=telephone", "take=alice", "take=bob", "en"} <= set(report["by_tag"])
    assert report["by_tag"]["perturb=speed1.1"]["audio"]["turns"] == 2
    # What the server heard: 8 different clips (each take, each presentation), the sped-up
    # ones 1/1.1 as long, and all of them again, byte for byte, in a second run.
    assert len(clips) == 8 and len(set(clips)) == 8
    lengths = sorted(len(sf.read(io.BytesIO(c))[0]) for c in clips)
    assert lengths[0] == pytest.approx(16000 / 1.1, abs=2) and lengths[-1] == 16000
    _, again, clips_again = eval_once(portal, suite, tmp_path / "b.json", *args)
    assert sorted(clips_again) == sorted(clips)
    assert again["scores"]["audio"]["tools"] == report["scores"]["audio"]["tools"]
    _, _, clips_other = eval_once(portal, suite, tmp_path / "c.json", *args, "--seed", "1")
    assert len(set(clips_other) - set(clips)) == 2  # only the noisy clips change with the seed


def test_made_up_tools_and_hostile_text_are_scored_and_shown_escaped(
    portal: anyio.from_thread.BlockingPortal,
    suite: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def hostile(request: ScriptedRequest) -> Reply:
        if request["messages"][-1]["role"] == "tool":
            return Reply.text("\x1b[2J<img src=x onerror=alert(1)>")
        return Reply.tool_call("rm_rf", {"path": "\x1b]0;pwned\x07<script>"})

    out, page = tmp_path / "r.json", tmp_path / "r.html"
    with portal.wrap_async_context_manager(ScriptedServer(default=hostile)) as server:
        code = run(
            "eval", str(suite), "--app", str(SMART_HOME), "--base-url", server.base_url,
            "--dry-tools", "--no-perturb", "--json", str(out), "--html", str(page),
        )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    assert "\x1b" not in captured.out and "\x07" not in captured.out
    report = json.loads(out.read_text())
    audio = report["scores"]["audio"]
    assert audio["tools"]["rm_rf"]["fp"] == 3  # 2 takes + the typed turn
    assert audio["tools"]["set_light"]["fn"] == 2
    assert audio["confusion"]["matrix"]["set_light"]["rm_rf"] == 2
    assert audio["invalid_arguments"] == 3  # not a tool of the app: never valid
    assert "\\u001b" in captured.out  # the model's escape code, shown as text
    html = page.read_text()
    assert html.count("<script>") == 1  # the page's own
    assert "&lt;script&gt;" in html


def test_a_server_that_fails_turns_is_recorded_and_exits_1(
    portal: anyio.from_thread.BlockingPortal,
    suite: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(request: ScriptedRequest) -> Reply:
        return Reply.error(400, "this audio is cursed")

    out = tmp_path / "r.json"
    with portal.wrap_async_context_manager(ScriptedServer(default=broken)) as server:
        code = run(
            "eval", str(suite), "--app", str(SMART_HOME), "--base-url", server.base_url,
            "--no-perturb", "--json", str(out),
        )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "3 turns failed to run" in err
    report = json.loads(out.read_text())
    assert report["scores"]["audio"]["errors"] == 3
    assert all("cursed" in o["error"] for o in report["outcomes"])
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--concurrency", "0"], "between 1 and 64"),
        (["--json", "/no/such/dir/r.json"], "no such directory"),
        (["--case", "nothing*"], "no case of the suite matches"),
        (["--tool-choice", "fly"], "neither auto, none, required nor a tool"),
    ],
)
def test_usage_errors_exit_2(
    suite: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("eval", str(suite), "--app", str(SMART_HOME), "--base-url", "http://x/v1", *extra)
    assert code == 2
    assert message in capsys.readouterr().err


def test_a_suite_that_expects_a_tool_the_app_lacks_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[[cases]]\nid = 'a'\ntext = 'x'\nexpect.calls = [{ tool = 'set_lite' }]\n")
    code = run("eval", str(path), "--app", str(SMART_HOME), "--base-url", "http://x/v1")
    err = capsys.readouterr().err
    assert code == 1
    assert "expects tool 'set_lite'" in err and "hint: the app's tools: set_light" in err


def test_an_unreadable_take_fails_its_runs_only(
    portal: anyio.from_thread.BlockingPortal,
    suite: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "takes" / "carol.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    code, report, clips = eval_once(portal, suite, tmp_path / "r.json", "--no-perturb")
    assert code == 1
    errors = {o["run_id"]: o["error"] for o in report["outcomes"] if o["error"]}
    assert list(errors) == ["light/carol"]
    assert "cannot read" in errors["light/carol"] and "carol.wav" in errors["light/carol"]
    assert len(clips) == 2  # alice and bob still ran
    assert report["scores"]["audio"]["tools"]["set_light"]["tp"] == 2
    assert "1 turns failed to run" in capsys.readouterr().err


def test_a_tool_calling_sys_exit_stops_the_eval_with_its_code(
    portal: anyio.from_thread.BlockingPortal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "import sys\nfrom voxagent import Agent, tool\n\n\n@tool\nasync def leave() -> str:\n"
        '    """Leave."""\n    sys.exit(3)\n\n\nagent = Agent(tools=[leave])\n'
    )
    suite = tmp_path / "s.toml"
    suite.write_text("[[cases]]\nid = 'a'\ntext = 'go'\nexpect.calls = [{ tool = 'leave' }]\n")

    def call(request: ScriptedRequest) -> Reply:
        return Reply.tool_call("leave", {})

    with portal.wrap_async_context_manager(ScriptedServer(default=call)) as server:
        code = run("eval", str(suite), "--app", str(app), "--base-url", server.base_url)
    err = capsys.readouterr().err
    assert code == 3
    assert "sys.exit(3)" in err and "Traceback" not in err


def test_usage_errors_exit_2_under_python_dash_m_too(suite: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "voxagent.cli", "eval", str(suite), "--app", str(SMART_HOME),
         "--base-url", "http://127.0.0.1:9/v1", "--case", "nothing*"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("usage error: no case of the suite matches")


@pytest.mark.parametrize("concurrency", [1, 3])
def test_runs_go_at_most_concurrency_at_a_time(
    portal: anyio.from_thread.BlockingPortal, tmp_path: Path, concurrency: int
) -> None:
    path = tmp_path / "s.toml"
    case = "[[cases]]\nid = 't{n}'\ntext = 'hi {n}'\nexpect.no_call = true\n"
    path.write_text("".join(case.format(n=n) for n in range(6)))
    inflight = {"now": 0, "most": 0}
    full = anyio.Event()

    async def slow(request: ScriptedRequest) -> Reply:
        inflight["now"] += 1
        inflight["most"] = max(inflight["most"], inflight["now"])
        if inflight["now"] >= concurrency:
            full.set()
        # Hold each request until `concurrency` are in flight (so they are seen together, on
        # any machine), then a little longer (so one more would be seen too).
        with anyio.move_on_after(5):
            await full.wait()
        await anyio.sleep(0.1)
        inflight["now"] -= 1
        return Reply.text("Hello.")

    out = tmp_path / "r.json"
    with portal.wrap_async_context_manager(ScriptedServer(default=slow)) as server:
        code = run(
            "eval", str(path), "--app", str(SMART_HOME), "--base-url", server.base_url,
            "--concurrency", str(concurrency), "--json", str(out),
        )  # fmt: skip
    assert code == 0
    assert inflight["most"] == concurrency
    report = json.loads(out.read_text())
    assert [o["case_id"] for o in report["outcomes"]] == [f"t{n}" for n in range(6)]  # in order
