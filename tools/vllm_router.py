"""vllm-router for tests and benchmarks: install it into a cached environment, start it.

    python tools/vllm_router.py install
    python tools/vllm_router.py serve --policy consistent_hash http://127.0.0.1:8001 http://...

The router (PyPI `vllm-router`, a Rust binary in a manylinux wheel) lives in its own virtual
environment under ${VOXAGENT_CACHE:-~/.cache/voxagent}/vllm-router-0.1.17, outside the repository
(its FastAPI/uvicorn pins are not voxagent's business). Importable: tests/integration uses
`install()` and `Router`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx

# tools/ is not a package: the shared helpers sit next to this script.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cached_env import Progress, cache_root, locked, run_step

VERSION = "0.1.17"
REQUIREMENT = f"vllm-router=={VERSION}"
ENV_NAME = f"vllm-router-{VERSION}"
_MARKER = "voxagent-verified.json"


def env_dir() -> Path:
    """The cached virtual environment holding vllm-router."""
    return cache_root() / ENV_NAME


def executable() -> Path:
    """The `vllm-router` command inside the cached environment."""
    return env_dir() / "bin" / "vllm-router"


def is_installed() -> bool:
    """True when a verified install is present (its marker is written last)."""
    return (env_dir() / _MARKER).is_file() and executable().is_file()


def install(progress: Progress = print) -> Path:
    """Install vllm-router into the cached environment, once; return its executable.

    Raises:
        subprocess.CalledProcessError: A step failed (its output was shown).
    """
    if is_installed():
        return executable()
    with locked(ENV_NAME):
        if is_installed():
            return executable()
        started = time.monotonic()
        env = env_dir()
        python = env / "bin" / "python"
        if not python.is_file():
            progress(f"creating the vllm-router environment in {env}")
            run_step([sys.executable, "-m", "venv", "--clear", env], progress)
        quiet = ["-q", "--disable-pip-version-check"]
        run_step([python, "-m", "pip", "install", *quiet, REQUIREMENT], progress)
        # The Rust extension must load (the wheel falls back to a Python debug balancer if not).
        run_step([python, "-c", "import vllm_router_rs, vllm_router.router"], progress)
        marker = {"requirement": REQUIREMENT, "seconds": round(time.monotonic() - started)}
        (env / _MARKER).write_text(json.dumps(marker) + "\n")
        progress(f"vllm-router ready in {marker['seconds']} s: {executable()}")
    return executable()


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Router:
    """A `vllm-router` process in front of running vLLM servers (a context manager).

    Args:
        workers: The servers' origins ("http://127.0.0.1:8001", no "/v1").
        policy: consistent_hash, round_robin, cache_aware, power_of_two or random.
        log_path: Where the router's output goes.
        startup_timeout: Seconds to wait for it to answer.
    """

    def __init__(
        self,
        workers: Sequence[str],
        *,
        policy: str = "consistent_hash",
        log_path: Path | None = None,
        startup_timeout: float = 120.0,
    ) -> None:
        self.workers = list(workers)
        self.policy = policy
        self.port = free_port()
        self.log_path = log_path or cache_root() / "logs" / f"vllm-router-{self.port}.log"
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL clients use."""
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The router's command line."""
        return [
            str(executable()),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--policy",
            self.policy,
            "--prometheus-port",
            str(free_port()),
            "--worker-urls",
            *self.workers,
        ]

    def start(self) -> None:
        """Start the router and wait until it proxies `/v1/models`.

        Raises:
            RuntimeError: It exited or did not answer in time (with the end of its log).
        """
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.base_url}/models", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"vllm-router did not start ({' '.join(self.command())}):\n{tail}")

    def stop(self) -> None:
        """Stop the router (SIGTERM, then SIGKILL after 10 s)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> Router:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="install vllm-router into the cache (once)")
    serve = commands.add_parser("serve", help="route to running vLLM servers until Ctrl-C")
    serve.add_argument("--policy", default="consistent_hash")
    serve.add_argument("workers", nargs="+", help="server origins, e.g. http://127.0.0.1:8001")
    args = parser.parse_args(argv)
    install(progress=lambda line: print(line, file=sys.stderr))
    if args.command == "install":
        return 0
    with Router(args.workers, policy=args.policy) as router:
        print(f"routing ({args.policy}) at {router.base_url}; log: {router.log_path}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
