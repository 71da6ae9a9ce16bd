"""Ctrl-C in the `voxagent` CLI, run as a real subprocess: during a model request, during a tool
run and during microphone capture.

The scripted server runs in a process of its own (so the CLI's signal handling is the only thing
under test), and capture goes through the CLI's real `run --mic` path with a fake `sounddevice`
module put first on the child's PYTHONPATH: a thread that calls back with real-time blocks, like
PortAudio. Each case checks: exit within 1 s of SIGINT, exit code 130, stderr's last line
"interrupted" and no traceback, no child process left, the capture stream closed, and the
`--save` file still loads.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from voxagent.conversation import AssistantTurn, Conversation, ToolResultTurn, UserTurn

ROOT = Path(__file__).resolve().parents[2]

SERVER = """
import json, sys, pathlib
import anyio
from voxagent.testing import Reply, ScriptedServer

marker = pathlib.Path(sys.argv[1])
script = json.loads(sys.argv[2])

def reply_for(spec):
    def answer(request):
        marker.write_text("request")  # the test waits for this before sending SIGINT
        if "tool" in spec:
            return Reply.tool_call(spec["tool"], {})
        return Reply.text(spec["text"], delay=spec.get("delay", 0.0))
    return answer

async def main():
    async with ScriptedServer([reply_for(s) for s in script]) as server:
        print(server.base_url, flush=True)
        await anyio.to_thread.run_sync(sys.stdin.read)  # serve until the test closes stdin

anyio.run(main)
"""

APP = """
import pathlib
import time
from voxagent import Agent, tool

@tool(timeout=60)
def slow_report() -> str:
    \"\"\"Prepare a long report.\"\"\"
    pathlib.Path({marker!r}).write_text("tool")
    time.sleep(30)  # a plain def: runs in a worker thread that cannot be interrupted
    return "report"

agent = Agent(tools=[slow_report], slow_tool_after=None)
"""

# What the CLI imports for --mic: real-time silence from a thread, and a file that says whether
# the stream was stopped and closed.
FAKE_SOUNDDEVICE = """
import pathlib, threading, time
import numpy as np

MARKER = pathlib.Path({marker!r})
CLOSED = pathlib.Path({closed!r})

class InputStream:
    def __init__(self, *, samplerate, channels, blocksize, callback, **_):
        self.block, self.channels, self.callback = blocksize, channels, callback
        self.period = blocksize / samplerate
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()

    def run(self):
        block = np.zeros((self.block, self.channels), dtype=np.float32)
        while not self.stopped.wait(self.period):
            self.callback(block, self.block, None, None)
            MARKER.write_text("capturing")

    def stop(self):
        self.stopped.set()
        self.thread.join()
        CLOSED.write_text("stopped")

    def close(self):
        CLOSED.write_text(CLOSED.read_text() + " closed")
"""


class Served:
    """The scripted server's process and the file it touches on every request."""

    def __init__(self, process: subprocess.Popen[str], base_url: str, marker: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.marker = marker


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[subprocess.Popen[str]] = []

    def start(*script: dict[str, object]) -> Served:
        marker = tmp_path / "server-saw-request"
        process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(marker), json.dumps(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        started.append(process)
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:"), base_url
        return Served(process, base_url, marker)

    yield start
    for process in started:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        finally:
            assert process.stdout is not None
            process.stdout.close()


def _wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            _, stderr = process.communicate()
            pytest.fail(f"the CLI exited early ({process.returncode}): {stderr}")
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)
    time.sleep(0.2)  # let the CLI get well inside the step it is in


def _interrupt(process: subprocess.Popen[str]) -> tuple[float, str]:
    """SIGINT the CLI; return the seconds it took to exit and its stderr."""
    children = psutil.Process(process.pid).children(recursive=True)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"the CLI did not exit within 5 s of SIGINT: {stderr}")
    elapsed = time.monotonic() - sent
    leaked = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert leaked == [], f"child processes left running: {leaked}"
    return elapsed, stderr


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voxagent.cli", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
    )


def _assert_clean_interrupt(elapsed: float, stderr: str, code: int | None) -> None:
    assert code == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted", stderr
    assert "Traceback" not in stderr, stderr
    assert elapsed < 1.0, f"took {elapsed:.2f} s to exit after SIGINT"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(APP.format(marker=str(tmp_path / "tool-started")))
    return path


def test_ctrl_c_during_a_request_exits_130_at_once_and_the_save_loads(
    tmp_path: Path, app: Path, serve: Callable[..., Served]
) -> None:
    served = serve({"text": "too late", "delay": 30})
    save = tmp_path / "conversation.json"
    cli = _cli(
        tmp_path, str(app), "--base-url", served.base_url, "--text", "hi", "--save", str(save)
    )
    _wait_for(served.marker, cli)
    elapsed, stderr = _interrupt(cli)
    _assert_clean_interrupt(elapsed, stderr, cli.returncode)
    conversation = Conversation.load(save)
    assert [type(t) for t in conversation.turns] == [UserTurn]
    assert conversation.pending_tool_calls() == []


def test_ctrl_c_during_a_tool_run_exits_130_at_once_and_the_save_loads(
    tmp_path: Path, app: Path, serve: Callable[..., Served]
) -> None:
    served = serve({"tool": "slow_report"})
    save = tmp_path / "conversation.json"
    cli = _cli(
        tmp_path, str(app), "--base-url", served.base_url, "--text", "hi", "--save", str(save)
    )
    _wait_for(tmp_path / "tool-started", cli)
    elapsed, stderr = _interrupt(cli)
    _assert_clean_interrupt(elapsed, stderr, cli.returncode)
    conversation = Conversation.load(save)
    # The call was recorded and answered (cancelled), so the saved conversation can go on.
    assert conversation.pending_tool_calls() == []
    assert [type(t) for t in conversation.turns] == [UserTurn, AssistantTurn, ToolResultTurn]


def test_ctrl_c_during_capture_exits_130_at_once_and_closes_the_stream(
    tmp_path: Path, app: Path, serve: Callable[..., Served]
) -> None:
    served = serve()
    fake = tmp_path / "fake_audio"
    fake.mkdir()
    capturing, closed = tmp_path / "capturing", tmp_path / "stream-closed"
    (fake / "sounddevice.py").write_text(
        FAKE_SOUNDDEVICE.format(marker=str(capturing), closed=str(closed))
    )
    path = os.pathsep.join(p for p in (str(fake), os.environ.get("PYTHONPATH")) if p)
    cli = _cli(tmp_path, str(app), "--base-url", served.base_url, "--mic", env={"PYTHONPATH": path})
    _wait_for(capturing, cli)
    elapsed, stderr = _interrupt(cli)
    _assert_clean_interrupt(elapsed, stderr, cli.returncode)
    assert closed.read_text() == "stopped closed"  # no capture stream left open
    assert not served.marker.exists()  # silence: nothing was sent
