"""`--dry-tools` never runs a real tool: the app's tools leave a tripwire file when they run.

The control run (without `--dry-tools`) shows the tripwire works: the same script makes the
plain tool run for real.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio.from_thread
import pytest

from voxagent.cli import main
from voxagent.testing import Reply, ScriptedRequest, ScriptedServer

APP = '''
import os
from pathlib import Path

from voxagent import Agent, tool


def _tripped(name: str) -> None:
    with open(os.environ["VOXAGENT_TEST_TRIPWIRE"], "a") as out:
        out.write(name + "\\n")


@tool(confirm=True)
def unlock_front_door() -> str:
    """Unlock the front door."""
    _tripped("unlock_front_door")
    raise AssertionError("a real tool ran under --dry-tools")


@tool
def format_disk(device: str) -> str:
    """Erase a disk.

    Args:
        device: Which disk.
    """
    _tripped("format_disk")
    return "erased"


agent = Agent(tools=[unlock_front_door, format_disk])
'''

SUITE = """
[suite]
name = "tripwire"

[dry_results]
unlock_front_door = "The front door is unlocked (recorded)."
"*" = "ok (recorded)"

[[cases]]
id = "door"
text = "open the door"
expect.calls = [{ tool = "unlock_front_door" }]

[[cases]]
id = "disk"
text = "wipe it"
expect.calls = [{ tool = "format_disk", args = { device = { regex = "^/dev/" } } }]
"""


def responder(request: ScriptedRequest) -> Reply:
    last = request["messages"][-1]
    if last["role"] == "tool":
        return Reply.text(f"Result was: {last['content']}")
    if "door" in str(last["content"]):
        return Reply.tool_call("unlock_front_door", {})
    return Reply.tool_call("format_disk", {"device": "/dev/sda"})


def run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    code = exited.value.code
    assert isinstance(code, int)
    return code


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    app = tmp_path / "app.py"
    app.write_text(APP)
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    tripwire = tmp_path / "tripwire.txt"
    monkeypatch.setenv("VOXAGENT_TEST_TRIPWIRE", str(tripwire))
    return app, suite, tripwire


def test_dry_tools_record_calls_and_never_run_the_tools(
    portal: anyio.from_thread.BlockingPortal, files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    app, suite, tripwire = files
    out = tmp_path / "report.json"
    with portal.wrap_async_context_manager(ScriptedServer(default=responder)) as server:
        code = run(
            "eval", str(suite), "--app", str(app), "--base-url", server.base_url,
            "--dry-tools", "--json", str(out),
        )  # fmt: skip
        results = [
            m["content"] for r in server.requests for m in r["messages"] if m["role"] == "tool"
        ]
    assert code == 0
    assert not tripwire.exists()  # neither tool ran
    report = json.loads(out.read_text())
    assert report["dry_tools"] is True
    assert report["scores"]["audio"]["turn_accuracy"]["value"] == 1.0
    calls = [c for o in report["outcomes"] for c in o["calls"]]
    assert calls == [
        {"name": "unlock_front_door", "arguments": {}, "valid": True},
        {"name": "format_disk", "arguments": {"device": "/dev/sda"}, "valid": True},
    ]
    # The model got the canned results (the named one, and the "*" fallback), no approval asked.
    assert sorted(set(results)) == ["The front door is unlocked (recorded).", "ok (recorded)"]


def test_without_dry_tools_the_tripwire_catches_a_real_run(
    portal: anyio.from_thread.BlockingPortal, files: tuple[Path, Path, Path]
) -> None:
    app, suite, tripwire = files
    with portal.wrap_async_context_manager(ScriptedServer(default=responder)) as server:
        code = run("eval", str(suite), "--app", str(app), "--base-url", server.base_url)
    assert code == 0
    # The plain tool ran for real; the confirm=True one was denied (nobody to approve in eval).
    assert tripwire.read_text() == "format_disk\n"
