"""Progress for people who wait: on a terminal (or when asked), on stderr, never in results."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from voxagent.progress import progress

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.anyio
async def test_on_a_terminal_one_line_is_rewritten_then_cleared() -> None:
    out = Terminal()
    async with progress("transcribing 95 s of audio", stream=out):
        await anyio.sleep(2.3)
    text = out.getvalue()
    assert "\rtranscribing 95 s of audio... 1 s" in text
    assert "\rtranscribing 95 s of audio... 2 s" in text
    assert "\n" not in text
    assert text.endswith("\r")  # the line is blanked: what follows starts clean


@pytest.mark.anyio
async def test_not_a_terminal_shows_nothing_unless_forced() -> None:
    out = io.StringIO()
    async with progress("waiting", stream=out):
        await anyio.sleep(1.2)
    assert out.getvalue() == ""


@pytest.mark.anyio
async def test_forced_it_writes_whole_lines_for_a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    # Forced off a terminal: one line every 10 s; fake the clock's sleeps to see two.
    real_sleep = anyio.sleep

    async def quick(delay: float) -> None:
        await real_sleep(delay / 100)

    monkeypatch.setattr(anyio, "sleep", quick)
    async with progress("waiting", stream=out, force=True):
        await real_sleep(0.25)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all(line.startswith("waiting... ") for line in lines)


def test_vllm_cpu_install_steps_say_they_still_run(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import vllm_cpu
    finally:
        sys.path.pop(0)
    said: list[str] = []
    vllm_cpu._run([sys.executable, "-c", "import time; time.sleep(0.5)"], said.append, every=0.1)
    assert said[0].startswith("$ ")
    assert any("still running" in line for line in said[1:])
    with pytest.raises(subprocess.CalledProcessError):
        vllm_cpu._run([sys.executable, "-c", "raise SystemExit(3)"], said.append)
