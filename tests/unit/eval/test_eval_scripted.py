"""`voxagent eval` against the scripted server: a suite whose outcome is known exactly.

Each case's audio is a tone of its own length; the scripted model "hears" a clip by its length
(and the cascade's transcription answers "case cN" for it), then replies as the script says:
right, wrong tool, wrong argument, no call. Every score of both columns is then known by hand
and asserted to the digit, through the real command line (argument parsing, app loading, the
runner, scoring and the JSON report).
"""

from __future__ import annotations

import base64
import io
import json
import re
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


def tone(path: Path, seconds: float) -> Path:
    """A tone of exactly `seconds` at 16 kHz, with 0.2 s of silence each side (a VAD finds it)."""
    rate = 16000
    t = np.arange(round(seconds * rate)) / rate
    body = 0.3 * np.sin(2 * np.pi * 440.0 * t)
    body[: int(0.2 * rate)] = 0
    body[-int(0.2 * rate) :] = 0
    sf.write(path, body.astype(np.float32), rate, subtype="PCM_16")
    return path


def seconds_of(data: bytes) -> float:
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    return float(len(samples) / rate)


def case_of_seconds(seconds: float) -> str:
    return f"c{round((seconds - 0.5) * 10)}"  # c1 is 0.6 s, c2 0.7 s, ...


def call(name: str, **args: Any) -> Reply:
    return Reply.tool_call(name, args)


# What the scripted model answers to each case: heard as audio, or read as the cascade's text.
AUDIO = {
    "c1": call("set_light", room="kitchen", on=True),  # right
    "c2": call("set_thermostat", celsius=21),  # wrong tool
    "c3": call("set_thermostat", celsius=25),  # wrong argument
    "c4": Reply.text("Sure."),  # no call
    "c5": Reply.text("I can't help with that."),  # no call, rightly
    "c6": call("start_timer", label="eggs", minutes=5),  # a call where none was wanted
    "c7": call("set_light", room="living_room", on=True, brightness=52),  # right (one_of, approx)
    "c8": Reply.text("The lights are on."),  # answer check passes
    "off": call("set_light", room="kitchen", on=False),  # the typed second turn: right
}
CASCADE = {
    "c1": call("set_light", room="kitchen", on=True),
    "c2": call("set_light", room="bedroom", on=False),  # right this time
    "c3": call("set_thermostat", celsius=21),  # right
    "c4": call("set_thermostat", celsius=18),  # wrong tool
    "c5": Reply.text("I can't help with that."),
    "c6": Reply.text("Okay."),  # no call, rightly
    "c7": call("set_light", room="bedroom", on=True, brightness=50),  # room wrong
    "c8": Reply.text("I cannot do that."),  # answer check fails
    "off": call("set_light", room="kitchen", on=False),
}

SUITE = """
[suite]
name = "known outcome"
concurrency = 4

[[cases]]
id = "c1"
tags = { lang = "en" }
audio = "c1.wav"
expect.calls = [{ tool = "set_light", args = { room = "kitchen", on = true } }]

[[cases]]
id = "c2"
tags = { lang = "en" }
audio = "c2.wav"
expect.calls = [{ tool = "set_light", args = { room = "bedroom", on = false } }]

[[cases]]
id = "c3"
tags = { lang = "fr" }
audio = "c3.wav"
expect.calls = [{ tool = "set_thermostat", args = { celsius = { approx = 21, tolerance = 0.5 } } }]

[[cases]]
id = "c4"
tags = { lang = "fr" }
audio = "c4.wav"
expect.calls = [{ tool = "start_timer", args = { label = { text = " PASTA " }, minutes = 10 } }]

[[cases]]
id = "c5"
audio = "c5.wav"
expect = { no_call = true, answer_not_contains = ["error"] }

[[cases]]
id = "c6"
audio = "c6.wav"
expect.no_call = true

[[cases]]
id = "c7"
audio = "c7.wav"
[[cases.expect.calls]]
tool = "set_light"
args.room = { one_of = ["kitchen", "living_room"] }
args.brightness = { approx = 50, tolerance = 5 }

[[cases]]
id = "c8"
[[cases.turns]]
audio = "c8.wav"
expect.answer_contains = ["LIGHTS"]
[[cases.turns]]
text = "and off again"
expect.calls = [{ tool = "set_light", args = { room = "kitchen", on = false } }]
"""


def responder(request: ScriptedRequest) -> Reply:
    """Answer by what was heard or read (never by order: runs go in parallel)."""
    if request.kind == "transcription":
        return Reply.text(f"case {case_of_seconds(seconds_of(request['file']))}")
    last = request["messages"][-1]
    if last["role"] == "tool":
        return Reply.text("Done.")
    content = last["content"]
    if isinstance(content, list):
        for part in content:
            if part.get("type") == "input_audio":
                heard = seconds_of(base64.b64decode(part["input_audio"]["data"]))
                return AUDIO[case_of_seconds(heard)]
        content = " ".join(p.get("text", "") for p in content)
    if "and off again" in content:
        return AUDIO["off"]
    found = re.search(r"case (c\d)", content)
    assert found is not None, content
    return CASCADE[found.group(1)]


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    for k in range(1, 9):
        tone(tmp_path / f"c{k}.wav", 0.5 + k / 10)
    path = tmp_path / "suite.toml"
    path.write_text(SUITE)
    return path


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    assert isinstance(code, int)
    return code


def test_known_outcome_gives_exact_scores_for_both_columns(
    portal: anyio.from_thread.BlockingPortal,
    suite: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report_path = tmp_path / "report.json"
    html_path = tmp_path / "report.html"
    with portal.wrap_async_context_manager(ScriptedServer(default=responder)) as server:
        code = run(
            "eval", str(suite), "--app", str(SMART_HOME), "--base-url", server.base_url,
            "--baseline", "cascade", "--dry-tools", "--json", str(report_path),
            "--html", str(html_path),
        )  # fmt: skip
        assert server.errors == []
        transcribed = len(server.transcriptions)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert transcribed == 8  # every audio turn of the cascade column, once
    report = json.loads(report_path.read_text())
    audio, cascade = report["scores"]["audio"], report["scores"]["cascade"]

    def prf(tool: dict[str, Any]) -> tuple[Any, ...]:
        return tool["tp"], tool["fp"], tool["fn"], tool["precision"], tool["recall"], tool["f1"]

    assert prf(audio["tools"]["set_light"]) == (3, 0, 1, 1.0, 0.75, 6 / 7)
    assert prf(audio["tools"]["set_thermostat"]) == (1, 1, 0, 0.5, 1.0, 2 / 3)
    assert prf(audio["tools"]["start_timer"]) == (0, 1, 1, 0.0, 0.0, 0.0)
    assert prf(audio["tools"]["unlock_front_door"]) == (0, 0, 0, None, None, None)
    assert prf(audio["micro"]) == (4, 2, 2, 4 / 6, 4 / 6, 8 / 12)
    assert prf(cascade["tools"]["set_light"]) == (4, 0, 0, 1.0, 1.0, 1.0)
    assert prf(cascade["tools"]["set_thermostat"]) == (1, 1, 0, 0.5, 1.0, 2 / 3)
    assert prf(cascade["tools"]["start_timer"]) == (0, 0, 1, None, 0.0, 0.0)
    assert prf(cascade["micro"]) == (5, 1, 1, 5 / 6, 5 / 6, 10 / 12)

    def args(column: dict[str, Any]) -> dict[str, tuple[int, int]]:
        return {
            f"{tool}.{arg}": (cell["correct"], cell["total"])
            for tool, per in column["arguments"].items()
            for arg, cell in per.items()
        }

    assert args(audio) == {
        "set_light.room": (3, 3),
        "set_light.on": (2, 2),
        "set_light.brightness": (1, 1),
        "set_thermostat.celsius": (0, 1),
    }
    assert args(cascade) == {
        "set_light.room": (3, 4),
        "set_light.on": (3, 3),
        "set_light.brightness": (1, 1),
        "set_thermostat.celsius": (1, 1),
    }
    assert audio["argument_accuracy"] == {"correct": 6, "total": 7, "value": 6 / 7}
    assert cascade["argument_accuracy"] == {"correct": 8, "total": 9, "value": 8 / 9}

    labels = ["set_light", "set_thermostat", "start_timer", "(no call)"]

    def cells(column: dict[str, Any]) -> dict[tuple[str, str], int]:
        assert column["confusion"]["labels"] == labels
        matrix = column["confusion"]["matrix"]
        return {(w, g): n for w in labels for g in labels if (n := matrix[w][g])}

    assert cells(audio) == {
        ("set_light", "set_light"): 3,
        ("set_light", "set_thermostat"): 1,
        ("set_thermostat", "set_thermostat"): 1,
        ("start_timer", "(no call)"): 1,
        ("(no call)", "start_timer"): 1,
        ("(no call)", "(no call)"): 1,
    }
    assert cells(cascade) == {
        ("set_light", "set_light"): 4,
        ("set_thermostat", "set_thermostat"): 1,
        ("start_timer", "set_thermostat"): 1,
        ("(no call)", "(no call)"): 2,
    }
    assert audio["no_call"] == {"correct": 1, "total": 2, "value": 0.5}
    assert cascade["no_call"] == {"correct": 2, "total": 2, "value": 1.0}
    assert audio["answers"] == {"correct": 2, "total": 2, "value": 1.0}
    assert cascade["answers"] == {"correct": 1, "total": 2, "value": 0.5}
    assert audio["turn_accuracy"] == {"correct": 5, "total": 9, "value": 5 / 9}
    assert cascade["turn_accuracy"] == {"correct": 6, "total": 9, "value": 6 / 9}
    assert audio["errors"] == cascade["errors"] == 0

    # By tag: lang=en is c1 (right) and c2 (wrong tool) in the audio column.
    en = report["by_tag"]["lang=en"]["audio"]
    assert prf(en["tools"]["set_light"]) == (1, 0, 1, 1.0, 0.5, 2 / 3)
    assert en["turn_accuracy"]["value"] == 0.5
    assert report["by_tag"]["lang=fr"]["cascade"]["turn_accuracy"]["value"] == 0.5

    # Latency: every audio turn was endpointed; tool_start only where a tool ran; the cascade
    # transcribed each of its 8 audio turns.
    lat = audio["latency_ms"]
    assert lat["endpointing"]["n"] == 8 and lat["total"]["n"] == 9
    assert lat["tool_start"]["n"] == 6  # c1, c2, c3, c6, c7 and the typed turn
    assert cascade["latency_ms"]["transcribe"]["n"] == 8
    assert audio["latency_ms"]["transcribe"]["n"] == 0
    assert audio["tokens"]["prompt_tokens"] > 0

    failures = {(f["run_id"], f["column"], f["turn"]): f for f in report["failures"]}
    assert set(failures) == {
        ("c2", "audio", 1), ("c3", "audio", 1), ("c4", "audio", 1), ("c6", "audio", 1),
        ("c4", "cascade", 1), ("c7", "cascade", 1), ("c8", "cascade", 1),
    }  # fmt: skip
    wrong_arg = failures[("c3", "audio", 1)]
    assert wrong_arg["audio"] == str(suite.parent / "c3.wav")
    assert wrong_arg["reasons"] == ["set_thermostat.celsius: expected ≈ 21.0 ± 0.5, got 25.0"]
    assert wrong_arg["actual"] == [
        {"name": "set_thermostat", "arguments": {"celsius": 25.0}, "valid": True}
    ]
    assert failures[("c2", "audio", 1)]["reasons"] == [
        'expected set_light, got set_thermostat({"celsius": 21.0})'
    ]
    assert failures[("c8", "cascade", 1)]["reasons"] == ["answer lacks 'LIGHTS'"]
    # The terminal report shows both columns.
    assert "audio F1" in captured.out and "cascade F1" in captured.out
    assert html_path.read_text().count('class="mark bar"') == 2 * 4


def test_gate_fails_below_min_f1_with_exit_1(
    portal: anyio.from_thread.BlockingPortal,
    suite: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report_path = tmp_path / "report.json"
    with portal.wrap_async_context_manager(ScriptedServer(default=responder)) as server:
        code = run(
            "eval", str(suite), "--app", str(SMART_HOME), "--base-url", server.base_url,
            "--dry-tools", "--min-f1", "0.8", "--json", str(report_path), "--case", "c[1-3]",
        )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    report = json.loads(report_path.read_text())
    # c1 right, c2 wrong tool, c3 right tool: set_light 1/2 found (F1 2/3), thermostat F1 2/3.
    assert report["gate"]["failed"] == [
        "set_light: F1 0.667 < 0.8",
        "set_thermostat: F1 0.667 < 0.8",
    ]
    assert "gate failed" in err
    assert report["columns"] == ["audio"]
    assert {o["case_id"] for o in report["outcomes"]} == {"c1", "c2", "c3"}


def test_the_cascade_uses_the_agents_own_transcriber_when_it_has_one(
    portal: anyio.from_thread.BlockingPortal,
    suite: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Behind vllm-router the model cannot transcribe (the router refuses multipart): the app
    # gives its agent a transcriber of its own, and the cascade column must use that one.
    app = tmp_path / "routed_home.py"
    app.write_text(
        SMART_HOME.read_text()
        + "\nimport os as _os\nfrom voxagent.client import ModelClient as _Client\n"
        + "agent.voice = agent.voice.replace(\n"
        + "    transcriber=_Client(\n"
        + "        _os.environ['VOX_TEST_URL'], model=_os.environ['VOX_TEST_MODEL']\n"
        + "    )\n)\n"
    )
    report_path = tmp_path / "report.json"
    with (
        portal.wrap_async_context_manager(ScriptedServer(default=responder)) as chat,
        portal.wrap_async_context_manager(ScriptedServer(default=responder)) as replica,
    ):
        monkeypatch.setenv("VOX_TEST_URL", replica.base_url)
        monkeypatch.setenv("VOX_TEST_MODEL", replica.model)
        code = run(
            "eval", str(suite), "--app", str(app), "--base-url", chat.base_url,
            "--baseline", "cascade", "--dry-tools", "--json", str(report_path),
        )  # fmt: skip
        assert chat.errors == [] and replica.errors == []
        counts = len(chat.transcriptions), len(replica.transcriptions), len(replica.requests)
    assert code == 0, capsys.readouterr().err
    assert counts == (0, 8, 0)  # every cascade transcription on the agent's transcriber
    report = json.loads(report_path.read_text())
    assert report["scores"]["cascade"]["latency_ms"]["transcribe"]["n"] == 8
