"""The managed vLLM server: flags per model and build, detection, and a fake `vllm` process."""

from __future__ import annotations

import json
import socket
import stat
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from voxagent.errors import ConfigurationError
from voxagent.serve.server import (
    VLLMServer,
    VLLMStartError,
    detect_vllm,
    find_vllm,
    free_port,
    model_kind,
    vllm_command,
)
from voxagent.testing.tekken import write_tiny_voxtral

MINI = "mistralai/Voxtral-Mini-3B-2507"
SMALL = "mistralai/Voxtral-Small-24B-2507"
FP8 = "RedHatAI/Voxtral-Mini-3B-2507-FP8-dynamic"
REALTIME = "mistralai/Voxtral-Mini-4B-Realtime-2602"

FAKE_VLLM = """\
import http.server, json, os, signal, subprocess, sys, time
args = sys.argv[1:]
host, port = args[args.index("--host") + 1], int(args[args.index("--port") + 1])
state = os.environ["FAKE_VLLM_STATE"]
mode = os.environ.get("FAKE_VLLM_MODE", "ok")
keys = ["HF_HUB_OFFLINE", "VLLM_TARGET_DEVICE", "VLLM_CACHE_ROOT", "EXTRA"]
with open(os.path.join(state, "run.json"), "w") as out:
    json.dump({"argv": args, "env": {k: os.environ.get(k) for k in keys}}, out)
# A worker, like vLLM's engine core: stop() must reach it through the process group.
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(os.path.join(state, "worker.pid"), "w") as out:
    out.write(str(worker.pid))
print("INFO loading the model", flush=True)
if mode == "exit":
    print("ERROR no such model", flush=True)
    sys.exit(3)
if mode == "hang":
    time.sleep(600)
if mode == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.HTTPServer((host, port), Health)
print("INFO application startup complete", flush=True)
server.serve_forever()
"""


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOXAGENT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FAKE_VLLM_STATE", str(tmp_path))
    return _executable(tmp_path / "vllm", f"#!{sys.executable}\n{FAKE_VLLM}")


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"  # a zombie has exited; only its parent has not collected it yet


async def _gone(pid: int) -> bool:
    # Polling /proc is the only way to watch a process we are not the parent of.
    for _ in range(200):
        if not _alive(pid):
            return True
        await anyio.sleep(0.05)
    return False


def _options(command: list[str]) -> dict[str, str | None]:
    options: dict[str, str | None] = {}
    for index, arg in enumerate(command):
        if arg.startswith("--"):
            following = command[index + 1] if index + 1 < len(command) else None
            options[arg] = None if following is None or following.startswith("--") else following
    return options


# --- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [MINI, SMALL])
def test_chat_models_get_mistral_format_and_tool_calling(model: str) -> None:
    command = vllm_command(model, port=8000, cpu=False, vllm_executable="/opt/vllm")
    assert command[:3] == ["/opt/vllm", "serve", model]
    options = _options(command)
    assert options["--tokenizer-mode"] == options["--config-format"] == "mistral"
    assert options["--load-format"] == "mistral"
    assert options["--tool-call-parser"] == "mistral"
    assert "--enable-auto-tool-choice" in options
    assert options["--host"] == "127.0.0.1" and options["--port"] == "8000"
    assert "--enforce-eager" not in options


def test_fp8_build_loads_hf_config_with_mistral_tokenizer() -> None:
    options = _options(vllm_command(FP8, port=1, cpu=False, vllm_executable="vllm"))
    assert options["--tokenizer-mode"] == "mistral"
    assert "--enable-auto-tool-choice" in options
    # The quantization settings live in config.json: Mistral-format loading would drop them.
    assert "--config-format" not in options and "--load-format" not in options


def test_realtime_is_transcription_only() -> None:
    options = _options(vllm_command(REALTIME, port=1, cpu=True, vllm_executable="vllm"))
    assert options["--config-format"] == "mistral"
    assert "--enable-auto-tool-choice" not in options and "--tool-call-parser" not in options
    assert "--structured-outputs-config" not in options
    assert "--enforce-eager" in options


def test_cpu_build_flags() -> None:
    options = _options(vllm_command(MINI, port=1, cpu=True, vllm_executable="vllm"))
    assert "--enforce-eager" in options
    assert options["--dtype"] == "bfloat16"
    assert int(options["--kv-cache-memory-bytes"] or 0) >= 1 << 30
    structured = json.loads(options["--structured-outputs-config"] or "{}")
    assert structured == {"backend": "xgrammar", "disable_any_whitespace": True}


def test_extra_args_replace_our_flags() -> None:
    extra = ("--load-format", "dummy", "--kv-cache-memory-bytes=1024", "--enforce-eager")
    command = vllm_command(MINI, port=1, cpu=True, vllm_executable="vllm", extra_args=extra)
    assert command.count("--load-format") == 1 and command.count("--enforce-eager") == 1
    assert command[-4:] == list(extra)
    assert not any(arg.startswith("--kv-cache-memory-bytes ") for arg in command)
    assert "--kv-cache-memory-bytes" not in command
    assert _options(command)["--dtype"] == "bfloat16"  # what was not overridden stays


def test_model_kind_of_local_directories(tmp_path: Path) -> None:
    assert model_kind(str(write_tiny_voxtral(tmp_path / "chat"))) == "chat"
    assert model_kind(str(write_tiny_voxtral(tmp_path / "rt", realtime=True))) == "realtime"
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    assert model_kind(str(tmp_path / "hf")) == "chat-hf"
    assert model_kind(REALTIME) == "realtime" and model_kind(FP8) == "chat-hf"


# --- detection --------------------------------------------------------------------------------


def _fake_env(tmp_path: Path, found: dict[str, Any]) -> Path:
    python = _executable(tmp_path / "python", f"#!/bin/sh\necho '{json.dumps(found)}'\n")
    return _executable(tmp_path / "vllm", f"#!{python}\nimport vllm\n")


def test_detects_cpu_build_from_version(tmp_path: Path) -> None:
    found = {"vllm": "0.32.0+cpu", "cpu_dist": None, "torch": "2.13.0+cpu"}
    install = detect_vllm(str(_fake_env(tmp_path, found)))
    assert install.cpu and install.version == "0.32.0+cpu"


def test_detects_cuda_build(tmp_path: Path) -> None:
    found = {"vllm": "0.11.0", "cpu_dist": None, "torch": "2.8.0"}
    install = detect_vllm(str(_fake_env(tmp_path, found)))
    assert not install.cpu and install.version == "0.11.0"


def test_detection_feeds_the_command(tmp_path: Path) -> None:
    found = {"vllm": "0.10.1+cpu", "cpu_dist": "0.10.1", "torch": "2.7.0+cpu"}
    options = _options(vllm_command(MINI, port=1, vllm_executable=str(_fake_env(tmp_path, found))))
    assert "--enforce-eager" in options
    # vLLM 0.10 predates these options; passing them would stop it from starting.
    assert "--kv-cache-memory-bytes" not in options
    assert "--structured-outputs-config" not in options


def test_unreadable_install_falls_back_to_the_driver(tmp_path: Path) -> None:
    executable = _executable(tmp_path / "vllm", "#!/bin/sh\nexit 1\n")
    install = detect_vllm(str(executable))
    assert install.version is None
    assert install.cpu is not Path("/proc/driver/nvidia").exists()


# --- finding vLLM -----------------------------------------------------------------------------


def _no_vllm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOXAGENT_VLLM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))


def test_find_vllm_prefers_the_configured_executable(
    fake_vllm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOXAGENT_VLLM", str(fake_vllm))
    assert find_vllm() == str(fake_vllm)


def test_find_vllm_looks_next_to_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_vllm(tmp_path, monkeypatch)
    assert find_vllm() is None
    beside = _executable(tmp_path / "vllm", "#!/bin/sh\n")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert find_vllm() == str(beside)


@pytest.mark.anyio
async def test_missing_vllm_lists_the_ways_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_vllm(tmp_path, monkeypatch)
    with pytest.raises(ConfigurationError) as caught:
        vllm_command(MINI, port=1)
    assert "not installed" in caught.value.message
    hint = caught.value.hint or ""
    assert (
        "voxagent-voxtral[serve]" in hint
        and "VOXAGENT_BASE_URL" in hint
        and "MISTRAL_API_KEY" in hint
    )
    with pytest.raises(ConfigurationError, match="not installed"):
        await VLLMServer(MINI).start()


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
    server = VLLMServer(MINI, vllm_executable="vllm")
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert server.served_model == MINI


def test_served_model_name_follows_extra_args() -> None:
    server = VLLMServer(MINI, port=9, extra_args=["--served-model-name", "voxtral"])
    assert server.served_model == "voxtral" and server.base_url.endswith(":9/v1")


# --- running a (fake) server --------------------------------------------------------------------


@pytest.mark.anyio
async def test_start_and_stop_leave_nothing_behind(fake_vllm: Path, tmp_path: Path) -> None:
    model = write_tiny_voxtral(tmp_path / "model")
    lines: list[str] = []
    server = VLLMServer(
        str(model),
        vllm_executable=str(fake_vllm),
        cpu=True,
        env={"EXTRA": "1"},
        on_progress=lines.append,
    )
    async with server:
        async with httpx.AsyncClient() as client:
            health = await client.get(server.base_url.removesuffix("/v1") + "/health")
            assert health.status_code == 200
        pid = server.pid
        worker = int((tmp_path / "worker.pid").read_text())
        assert _alive(pid) and _alive(worker)
    assert "INFO application startup complete" in lines
    assert await _gone(pid) and await _gone(worker)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["env"]["HF_HUB_OFFLINE"] == "1" and run["env"]["VLLM_TARGET_DEVICE"] == "cpu"
    assert run["env"]["EXTRA"] == "1"
    assert Path(run["env"]["VLLM_CACHE_ROOT"]).is_relative_to(tmp_path / "cache")
    assert run["argv"][run["argv"].index("--port") + 1] == str(server.port)
    assert server.log_path.read_text().splitlines()[-1] == "INFO application startup complete"


@pytest.mark.anyio
async def test_process_exiting_early_fails_fast_with_its_last_lines(
    fake_vllm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "exit")
    server = VLLMServer(MINI, vllm_executable=str(fake_vllm), cpu=False, startup_timeout=60)
    with pytest.raises(VLLMStartError) as caught:
        await server.start()
    assert "exited with code 3" in caught.value.message
    assert caught.value.log_tail[-1] == "ERROR no such model"
    assert await _gone(int((tmp_path / "worker.pid").read_text()))


@pytest.mark.anyio
async def test_startup_timeout_stops_the_process(
    fake_vllm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "hang")
    server = VLLMServer(MINI, vllm_executable=str(fake_vllm), cpu=False, startup_timeout=1.5)
    with pytest.raises(VLLMStartError, match="did not become healthy"):
        await server.start()
    assert await _gone(int((tmp_path / "worker.pid").read_text()))
    with pytest.raises(RuntimeError):
        server.pid  # noqa: B018 -- the property raising is what is tested


@pytest.mark.anyio
async def test_stop_kills_a_server_that_ignores_sigterm(
    fake_vllm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "ignore-term")
    server = VLLMServer(MINI, vllm_executable=str(fake_vllm), cpu=False)
    await server.start()
    pid = server.pid
    await server.stop(grace=0.3)
    assert await _gone(pid)
    await server.stop()  # stopping twice is harmless
