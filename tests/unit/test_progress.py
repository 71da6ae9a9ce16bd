"""Progress for people who wait: on a terminal (or when asked), on stderr, never in results."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from voxagent.progress import progress

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeTime:
    """A clock that moves only when the ticker sleeps; `ticks` counts its sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.ticks = 0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.ticks += 1
        await anyio.lowlevel.checkpoint()


async def run_ticks(out: io.StringIO, ticks: int, **options: object) -> FakeTime:
    time = FakeTime()
    async with progress(
        "transcribing 95 s of audio", stream=out, clock=time.clock, sleep=time.sleep, **options
    ):
        while time.ticks < ticks:
            await anyio.lowlevel.checkpoint()
    return time


@pytest.mark.anyio
async def test_on_a_terminal_one_line_is_rewritten_every_second_then_cleared() -> None:
    out = Terminal()
    time = await run_ticks(out, 3)
    text = out.getvalue()
    assert time.slept[:3] == [1.0, 1.0, 1.0]
    for second in (1, 2):
        assert f"\rtranscribing 95 s of audio... {second} s" in text
    assert "\n" not in text
    assert text.endswith("\r")  # the line is blanked: what follows starts clean
    assert text.rstrip("\r").endswith(" " * len("transcribing 95 s of audio... 2 s"))


@pytest.mark.anyio
async def test_not_a_terminal_shows_nothing_unless_forced() -> None:
    out = io.StringIO()
    async with progress("waiting", stream=out, sleep=FakeTime().sleep):
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
    assert out.getvalue() == ""


@pytest.mark.anyio
async def test_forced_it_writes_whole_lines_every_10_s_for_a_log() -> None:
    out = io.StringIO()
    time = await run_ticks(out, 3, force=True)  # the third sleep: two lines are out
    assert time.slept[:2] == [10.0, 10.0]
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["transcribing 95 s of audio... 10 s", "transcribing 95 s of audio... 20 s"]


def test_vllm_cpu_install_steps_say_they_still_run(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import vllm_cpu
    finally:
        sys.path.pop(0)
    said: list[str] = []
    vllm_cpu.run_step(
        [sys.executable, "-c", "import time; time.sleep(0.5)"], said.append, every=0.1
    )
    assert said[0].startswith("$ ")
    assert any("still running" in line for line in said[1:])
    with pytest.raises(subprocess.CalledProcessError):
        vllm_cpu.run_step([sys.executable, "-c", "raise SystemExit(3)"], said.append)
