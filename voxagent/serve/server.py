"""The managed vLLM server: start `vllm serve` for a Voxtral model on loopback, and stop it.

`voxagent serve` and `Agent(base_url=None)` use `VLLMServer`; the flags come from
`voxagent.serve.command`, re-exported here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import anyio
import anyio.abc
import httpx

from voxagent.errors import ConfigurationError
from voxagent.serve.command import (
    WAYS_OUT,
    VLLMInstall,
    detect_vllm,
    find_vllm,
    model_kind,
    vllm_command,
    vllm_missing,
)

__all__ = [
    "WAYS_OUT",
    "VLLMInstall",
    "VLLMServer",
    "VLLMStartError",
    "detect_vllm",
    "find_vllm",
    "free_port",
    "model_kind",
    "vllm_command",
]


class VLLMStartError(ConfigurationError):
    """vLLM was found but the server did not come up.

    Attributes:
        log_tail: The last lines vLLM printed, oldest first.
    """

    def __init__(self, message: str, *, log_tail: Sequence[str] = (), hint: str = WAYS_OUT):
        tail = "\n".join(log_tail)
        super().__init__(f"{message}\n{tail}" if tail else message, hint=hint)
        self.log_tail = list(log_tail)


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the OS for a currently unused TCP port on `host`.

    Args:
        host: The address the port will be bound on.

    Returns:
        The port number.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _served_name(model: str, extra_args: Sequence[str]) -> str:
    args = list(extra_args)
    for index, arg in enumerate(args):
        if arg == "--served-model-name" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--served-model-name="):
            return arg.split("=", 1)[1]
    return model


def _cache_root() -> Path:
    return Path(os.environ.get("VOXAGENT_CACHE") or Path.home() / ".cache" / "voxagent")


class VLLMServer:
    """A `vllm serve` process for the lifetime of an `async with` block.

    Example:
        async with VLLMServer("mistralai/Voxtral-Mini-3B-2507", on_progress=print) as server:
            agent = Agent(base_url=server.base_url, model=server.served_model, ...)

    Args:
        model: A Hugging Face id or a local model directory.
        port: The port; None picks a free one.
        host: The address to bind (loopback by default).
        vllm_executable: The `vllm` command; None finds it with `find_vllm`.
        extra_args: More `vllm serve` arguments (they override ours).
        env: Extra environment variables for the server.
        startup_timeout: Seconds to wait for /health before giving up.
        log_path: Where vLLM's output goes; None uses a file under the voxagent cache.
        on_progress: Called with each line vLLM prints while starting.
        cpu: Whether vLLM is a CPU build; None detects it.
        http_client: The client used to poll /health; None makes one.
    """

    def __init__(
        self,
        model: str,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        vllm_executable: str | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 900.0,
        log_path: str | Path | None = None,
        on_progress: Callable[[str], None] | None = None,
        cpu: bool | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.served_model = _served_name(model, extra_args)
        default_log = _cache_root() / "logs" / f"vllm-{self.port}.log"
        self.log_path = Path(log_path) if log_path else default_log
        self._executable = vllm_executable
        self._extra_args = tuple(extra_args)
        self._env = dict(env or {})
        self._startup_timeout = startup_timeout
        self._on_progress = on_progress
        self._cpu = cpu
        self._http_client = http_client
        self._process: anyio.abc.Process | None = None
        self._tail: deque[str] = deque(maxlen=40)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, e.g. "http://127.0.0.1:8000/v1"."""
        return f"{self._origin}/v1"

    @property
    def pid(self) -> int:
        """The server's process id (also its process group id)."""
        if self._process is None:
            raise RuntimeError("the vLLM server is not running")
        return self._process.pid

    @property
    def _origin(self) -> str:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def _environment(self, cpu: bool) -> dict[str, str]:
        cache = _cache_root() / "vllm-cache"
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = {**os.environ, "VLLM_CACHE_ROOT": str(cache)}
        if Path(self.model).is_dir():
            env["HF_HUB_OFFLINE"] = "1"  # a local model needs nothing from the Hub
        if cpu:
            env["VLLM_TARGET_DEVICE"] = "cpu"
        env.update(self._env)
        return env

    async def start(self) -> None:
        """Spawn vLLM and wait until /health answers 200.

        Raises:
            ConfigurationError: vLLM is not installed.
            VLLMStartError: vLLM exited or did not become healthy in time (with its last lines).
        """
        executable = self._executable or find_vllm()
        if executable is None:
            raise vllm_missing()
        cpu = self._cpu
        if cpu is None:
            cpu = (await anyio.to_thread.run_sync(detect_vllm, executable)).cpu
        command = vllm_command(
            self.model,
            port=self.port,
            host=self.host,
            cpu=cpu,
            vllm_executable=executable,
            extra_args=self._extra_args,
        )
        env = await anyio.to_thread.run_sync(self._environment, cpu)
        await anyio.Path(self.log_path).parent.mkdir(parents=True, exist_ok=True)
        # Output goes to a file, not a pipe: nobody has to keep draining it after start-up.
        log = await anyio.to_thread.run_sync(open, self.log_path, "wb")
        try:
            self._process = await anyio.open_process(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, so stop() reaches every worker
            )
        finally:
            log.close()  # the child holds its own copy of the descriptor
        try:
            await self._wait_healthy()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.stop()
            raise

    async def _wait_healthy(self) -> None:
        client = self._http_client or httpx.AsyncClient(timeout=5.0)
        try:
            async with await anyio.open_file(self.log_path, "rb") as log:
                with anyio.move_on_after(self._startup_timeout):
                    while True:
                        await self._forward(log)
                        if await self._healthy(client):
                            await self._forward(log)
                            return
                        if self._process is not None and self._process.returncode is not None:
                            await self._forward(log)
                            raise VLLMStartError(
                                f"vLLM exited with code {self._process.returncode} while starting "
                                f"{self.model}",
                                log_tail=list(self._tail),
                            )
                        await anyio.sleep(0.5)
                await self._forward(log)
        finally:
            if self._http_client is None:
                await client.aclose()
        raise VLLMStartError(
            f"vLLM did not become healthy within {self._startup_timeout:.0f} s ({self.model})",
            log_tail=list(self._tail),
            hint=f"see the log at {self.log_path}; raise startup_timeout for large models",
        )

    async def _healthy(self, client: httpx.AsyncClient) -> bool:
        try:
            response = await client.get(f"{self._origin}/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def _forward(self, log: anyio.AsyncFile[bytes]) -> None:
        for raw in await log.readlines():
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._tail.append(line)
                if self._on_progress is not None:
                    self._on_progress(line)

    async def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the server's process group, then SIGKILL whatever is left after `grace` s."""
        process, self._process = self._process, None
        if process is None:
            return
        pgid = process.pid
        _signal_group(pgid, signal.SIGTERM)
        with anyio.move_on_after(grace):
            await process.wait()
        # Workers may outlive the API process; the group kill reaches them too.
        _signal_group(pgid, signal.SIGKILL)
        await process.wait()

    async def __aenter__(self) -> VLLMServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # already gone
