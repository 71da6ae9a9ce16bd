"""Shared pieces of the benchmarks: statistics, result rows, audio fixtures, the server process.

Every figure is a median/p95 or a ratio over repeated runs measured side by side in one run, so
noise from other processes on the machine hits every contender alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
WORK = Path(os.environ.get("VOXAGENT_BENCH_TMP", "/tmp/voxagent-bench"))
MODEL = "voxtral-test"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    Attributes:
        number: The measurement's number in issue 6.
        name: What was measured.
        result: The figures, already formatted.
        bar: The bar it is held to ("" when there is none).
        met: Whether the bar is met (None: no bar, or not measured).
    """

    number: int
    name: str
    result: str
    bar: str = ""
    met: bool | None = None


def median(values: Sequence[float]) -> float:
    """The median (numpy's, linear interpolation)."""
    return float(np.median(np.asarray(values, dtype=float)))


def p95(values: Sequence[float]) -> float:
    """The 95th percentile."""
    return float(np.percentile(np.asarray(values, dtype=float), 95))


def p99(values: Sequence[float]) -> float:
    """The 99th percentile."""
    return float(np.percentile(np.asarray(values, dtype=float), 99))


def ms(seconds: float) -> str:
    """Seconds as milliseconds text with a precision that suits the size."""
    value = seconds * 1000
    return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"


def speech_like(seconds: float, rate: int = 16000, seed: int = 0) -> np.ndarray[Any, Any]:
    """A deterministic voice-like signal: harmonics of a wandering pitch with syllable bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t) ** 2
    signal = 0.2 * voice * syllables + 0.002 * rng.standard_normal(t.size)
    return np.asarray(signal, dtype=np.float32)


def write_wav(path: Path, samples: np.ndarray[Any, Any], rate: int = 16000) -> Path:
    """Write 16-bit PCM WAV (once: an existing file is reused)."""
    import soundfile as sf

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, samples, rate, subtype="PCM_16")
    return path


def clip_wav(seconds: float, seed: int = 0) -> Path:
    """A cached 16 kHz mono speech-like WAV of `seconds`."""
    return write_wav(WORK / f"speech_{seconds:g}s_{seed}.wav", speech_like(seconds, seed=seed))


ServerMode = Literal["turn", "dispatch", "text", "scale"]


@contextlib.contextmanager
def server_process(mode: ServerMode, *, max_model_len: int = 32768) -> Iterator[str]:
    """Run the scripted server (voxagent.testing) in its own process; yield its base URL.

    A separate process keeps the server's CPU time out of the client's event loop, so client
    overhead is measured alone (the server's time is in both contenders' figures alike).
    """
    command = [PYTHON, str(Path(__file__).with_name("server.py")), mode, str(max_model_len)]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark server ({mode}) did not start")
        yield json.loads(line)["base_url"]
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_worker(module: str, *args: str, timeout: float = 300) -> Any:
    """Run `python tools/bench/<module>.py args...` in a fresh process; return its JSON line."""
    started = time.monotonic()
    out = subprocess.run(
        [PYTHON, str(Path(__file__).with_name(f"{module}.py")), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(
            f"{module} {' '.join(args)} failed after {time.monotonic() - started:.0f} s:\n"
            + out.stderr[-3000:]
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def rss_bytes() -> int:
    """This process's resident set size now."""
    import psutil

    return int(psutil.Process().memory_info().rss)


class Recorder(httpx.AsyncBaseTransport):
    """An httpx transport that timestamps what it sends and each response chunk it receives.

    Injected as `httpx.AsyncClient(transport=Recorder())`: `sent` holds
    (perf_counter, path, body bytes) per request, `received` (perf_counter, chunk) per chunk.
    """

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[tuple[float, str, bytes]] = []
        self.received: list[tuple[float, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            body = bytes(request.content)
        except httpx.RequestNotRead:  # a multipart upload (transcription) streams its body
            body = b""
        self.sent.append((time.perf_counter(), request.url.path, body))
        response = await self.inner.handle_async_request(request)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Timed(response.stream, self.received),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Timed(httpx.AsyncByteStream):
    def __init__(self, inner: Any, log: list[tuple[float, bytes]]) -> None:
        self.inner = inner
        self.log = log

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.log.append((time.perf_counter(), chunk))
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


def recording_client() -> tuple[httpx.AsyncClient, Recorder]:
    """An httpx.AsyncClient whose transport is a fresh `Recorder`."""
    recorder = Recorder()
    return httpx.AsyncClient(transport=recorder, timeout=60), recorder
