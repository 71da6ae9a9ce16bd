"""`voxagent web` on the command line: loopback by default, the remote flag, tokens, mistakes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from voxagent.cli import UsageError, build_parser
from voxagent.web import command
from voxagent.web.command import TOKEN_ENV, cmd_web, is_loopback

ROOT = Path(__file__).resolve().parents[2]


def _voxagent(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voxagent.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("my-laptop.local", False),  # a name may resolve to anything
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--host", "0.0.0.0"], "--host 0.0.0.0 is not a loopback address"),
        (
            ["--base-url", "http://127.0.0.1:9/v1", "--tool-choice", "bogus"],
            "--tool-choice 'bogus'",
        ),
        ([], "no server to talk to"),
        (["--base-url", "http://127.0.0.1:9/v1", "--max-visitors", "0"], "--max-visitors"),
        (["--base-url", "http://127.0.0.1:9/v1", "--captions-model", "rt"], "go together"),
        (["--base-url", "http://127.0.0.1:9/v1", "--port", "70000"], "not a port number"),
    ],
)
def test_mistakes_are_usage_errors_before_anything_listens(args: list[str], words: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VOXAGENT_BASE_URL"}
    done = _voxagent("web", "examples/smart_home.py", *args, env=env)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_an_app_that_is_not_there_is_a_usage_error() -> None:
    done = _voxagent("web", "no_such_app.py", "--base-url", "http://127.0.0.1:9/v1")
    assert done.returncode == 2
    assert "usage error: no such file: no_such_app.py" in done.stderr


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = _voxagent(
            "web", "examples/smart_home.py", "--base-url", "http://127.0.0.1:9/v1", "--port", port
        )
    assert done.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "hint: pick another --port" in done.stderr


def test_web_is_listed_by_voxagent_help() -> None:
    done = _voxagent("--help")
    assert done.returncode == 0 and "web" in done.stdout
    done = _voxagent("web", "--help")
    assert "--allow-remote" in done.stdout and TOKEN_ENV in done.stdout


@contextlib.contextmanager
def _no_socket(host: str, port: int) -> Iterator[Any]:
    # Stands in for binding: these tests check what is said and served, not the network.
    class Bound:
        def getsockname(self) -> tuple[str, int]:
            return (host, 4321)

    yield Bound()


def _run(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[list[str], dict[str, Any]]:
    served: dict[str, Any] = {}

    async def serve(app: Any, sock: Any) -> None:
        served["app"] = app

    monkeypatch.setattr(command, "_bound", _no_socket)
    monkeypatch.setattr(command, "_serve", serve)
    args = build_parser().parse_args(["web", "examples/smart_home.py", *argv])
    lines: list[str] = []
    monkeypatch.chdir(ROOT)
    assert anyio.run(cmd_web, args, lines.append, UsageError) == 0
    return lines, served


def test_binding_elsewhere_needs_the_flag_warns_and_gets_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    lines, served = _run(
        monkeypatch, "--host", "0.0.0.0", "--allow-remote", "--base-url", "http://127.0.0.1:9/v1"
    )
    assert lines[0].startswith("warning: serving on 0.0.0.0, reachable from other machines")
    assert "https://" in lines[1]
    address = lines[-1]
    assert address.startswith("voxagent web: http://0.0.0.0:4321/#token=")
    token = address.split("#token=")[1].split()[0]
    assert len(token) >= 24  # made up for this run, since none was given
    assert "app" in served


def test_the_token_comes_from_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    lines, _ = _run(monkeypatch, "--base-url", "http://127.0.0.1:9/v1")
    assert lines == ["voxagent web: http://127.0.0.1:4321/#token=from-env  (Ctrl-C to stop)"]
    lines, _ = _run(monkeypatch, "--base-url", "http://127.0.0.1:9/v1", "--token", "from-flag")
    assert lines[-1].startswith("voxagent web: http://127.0.0.1:4321/#token=from-flag")
    monkeypatch.delenv(TOKEN_ENV)
    lines, _ = _run(monkeypatch, "--base-url", "http://127.0.0.1:9/v1")
    assert lines == ["voxagent web: http://127.0.0.1:4321/  (Ctrl-C to stop)"]  # loopback: none


def test_remote_without_the_flag_is_refused_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="add --allow-remote"):
        _run(monkeypatch, "--host", "::", "--base-url", "http://127.0.0.1:9/v1")
