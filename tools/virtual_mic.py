"""A real capture path without a sound card: PulseAudio with a virtual microphone.

Starts a private PulseAudio daemon (runtime files in a temp dir) with a null sink `vspk` whose
monitor is remapped as the default source `vmic`, plus a silent keep-alive playback stream (without
it the first capture callbacks arrive 1-2 s late). Whatever `paplay --device=vspk` plays is what
`sounddevice`/`Microphone()` records. Everything started is stopped by PID.

Python:  with VirtualMic() as mic: mic.play("speech.wav"); ... (mic.env holds the environment)
CLI:     python tools/virtual_mic.py start|stop|status [--dir DIR]   (start prints `export` lines)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

PACKAGES = "pulseaudio pulseaudio-utils libportaudio2 libasound2-plugins alsa-utils"
_CONFIG = """\
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=vspk rate=16000 channels=1
load-module module-remap-source source_name=vmic master=vspk.monitor
set-default-sink vspk
set-default-source vmic
"""


class VirtualMicError(RuntimeError):
    """PulseAudio could not be started (missing packages, daemon failure)."""


class VirtualMic:
    """Start/stop the PulseAudio daemon, virtual microphone and keep-alive.

    Args:
        directory: Runtime directory (a fresh temp dir when None; removed on stop if created).
        settle_s: Wait after start so the keep-alive stream is flowing before capture.
    """

    def __init__(self, directory: Path | None = None, settle_s: float = 2.0) -> None:
        self._own_dir = directory is None
        self.dir = Path(directory or tempfile.mkdtemp(prefix="voxagent-pulse-"))
        self.settle_s = settle_s
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(self.dir),
            "HOME": str(self.dir),
            "PULSE_RUNTIME_PATH": str(self.dir / "pulse"),
            "PULSE_SERVER": f"unix:{self.dir / 'pulse' / 'native'}",
        }
        self.daemon_pid: int | None = None
        self._keepalive: subprocess.Popen[bytes] | None = None

    def start(self) -> VirtualMic:
        """Start the daemon and the keep-alive; raise `VirtualMicError` when impossible."""
        missing = [p for p in ("pulseaudio", "pacat", "paplay", "pactl") if not shutil.which(p)]
        if missing:
            raise VirtualMicError(f"missing {', '.join(missing)}: apt-get install {PACKAGES}")
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.dir / "virtual_mic.pa"
        config.write_text(_CONFIG)
        log = self.dir / "pulse.log"
        result = subprocess.run(
            [
                "pulseaudio",
                "-n",
                "-F",
                str(config),
                "--daemonize=yes",
                "--exit-idle-time=-1",
                "--disallow-exit=yes",
                "--system=no",
                f"--log-target=file:{log}",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise VirtualMicError(f"pulseaudio failed: {result.stderr.strip()} (log: {log})")
        self.daemon_pid = self._find_pid()
        self._wait_ready()
        with Path("/dev/zero").open("rb") as zeros:  # endless silence for the keep-alive
            self._keepalive = subprocess.Popen(
                [
                    "pacat",
                    "--playback",
                    "--device=vspk",
                    "--raw",
                    "--format=s16le",
                    "--rate=16000",
                    "--channels=1",
                    "--latency-msec=20",
                ],
                stdin=zeros,
                env=self.env,
            )
        time.sleep(self.settle_s)
        return self

    def play(self, path: str | Path) -> subprocess.Popen[bytes]:
        """Start playing a file into the virtual speaker (what the microphone hears)."""
        return subprocess.Popen(["paplay", "--device=vspk", str(path)], env=self.env)

    def stop(self) -> None:
        """Stop the keep-alive and the daemon by PID; remove a temp runtime dir."""
        if self._keepalive is not None:
            self._keepalive.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._keepalive.wait(timeout=5)
            if self._keepalive.poll() is None:
                self._keepalive.kill()
            self._keepalive = None
        pid = self.daemon_pid or self._find_pid(required=False)
        if pid:
            _kill(pid)
        self.daemon_pid = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> VirtualMic:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _find_pid(self, required: bool = True) -> int | None:
        pid_file = self.dir / "pulse" / "pid"
        for _ in range(50):
            if pid_file.exists():
                text = pid_file.read_text().strip()
                if text.isdigit():
                    return int(text)
            if not required:
                return None
            time.sleep(0.1)
        raise VirtualMicError(f"pulseaudio started but wrote no pid file in {pid_file.parent}")

    def _wait_ready(self) -> None:
        for _ in range(50):
            result = subprocess.run(
                ["pactl", "info"], env=self.env, capture_output=True, text=True, timeout=10
            )
            if result.returncode == 0 and "vmic" in result.stdout:
                return
            time.sleep(0.1)
        raise VirtualMicError("pulseaudio did not become ready (pactl info failed)")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    """CLI: start (prints the environment to export), stop, status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "voxagent-pulse")
    args = parser.parse_args(argv)
    mic = VirtualMic(args.dir)
    mic._own_dir = False  # the CLI keeps the directory between start and stop
    if args.command == "start":
        try:
            mic.start()
        except VirtualMicError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        assert mic._keepalive is not None
        (args.dir / "keepalive.pid").write_text(str(mic._keepalive.pid))
        print(
            f"export XDG_RUNTIME_DIR={args.dir} HOME={args.dir} "
            f"PULSE_RUNTIME_PATH={args.dir / 'pulse'} PULSE_SERVER={mic.env['PULSE_SERVER']}"
        )
        return 0
    keepalive = args.dir / "keepalive.pid"
    if args.command == "stop":
        if keepalive.exists():
            _kill(int(keepalive.read_text()))
            keepalive.unlink()
        mic.stop()
        print("stopped")
        return 0
    pid = mic._find_pid(required=False)
    print(f"running (pid {pid})" if pid else "not running")
    return 0 if pid else 1


if __name__ == "__main__":
    raise SystemExit(main())
