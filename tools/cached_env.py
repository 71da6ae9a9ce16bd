"""What the cached tool environments share (the vLLM CPU build, vllm-router): where the cache is,
one lock per environment, and install steps that say they are still running.

Imported by tools/vllm_cpu.py and tools/vllm_router.py (each puts this folder on sys.path first,
since tools/ is not a package).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

Progress = Callable[[str], None]


def cache_root() -> Path:
    """The voxagent cache directory: $VOXAGENT_CACHE or ~/.cache/voxagent."""
    return Path(os.environ.get("VOXAGENT_CACHE") or Path.home() / ".cache" / "voxagent")


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """Serialize installs of environment `name`: CI may run `install` and a fixture at once."""
    cache_root().mkdir(parents=True, exist_ok=True)
    with open(cache_root() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_step(command: Sequence[str | Path], progress: Progress, every: float = 15.0) -> None:
    """Run one step, saying every `every` seconds that it still runs (pip -q prints nothing).

    Raises:
        subprocess.CalledProcessError: The step failed (its output was shown).
    """
    progress("$ " + " ".join(str(part) for part in command))
    started = time.monotonic()
    with subprocess.Popen([str(part) for part in command]) as process:
        while True:
            try:
                code = process.wait(timeout=every)
                break
            except subprocess.TimeoutExpired:
                progress(f"  ... still running ({time.monotonic() - started:.0f} s)")
    if code != 0:
        raise subprocess.CalledProcessError(code, [str(part) for part in command])
