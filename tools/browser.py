"""Helpers for the browser tests of `voxagent web`: real speech for Chromium's fake microphone.

The speech is a real person saying "Front center" (alsa-utils' /usr/share/sounds/alsa/
Front_Center.wav, GPL-2+, installed by tools/test.sh), checked by sha256 and padded with silence
into a cache outside the repository, as 16-bit WAV: what Chromium's
`--use-file-for-fake-audio-capture` plays (once with `%noloop`, else over and over).

Chromium is Debian's `chromium` package (Playwright cannot download its own browsers here),
driven by Playwright with `executable_path`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

CHROMIUM = Path("/usr/bin/chromium")
SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")
SPEECH_SHA256 = "0d61518bcd3f13b0c709a5298e939caf698b80d31d71d50475365ee0e5536cc9"


class SpeechUnavailable(Exception):
    """The recording is missing or not the one the tests were written against."""


def cache_dir() -> Path:
    """Where built audio goes (outside the repository)."""
    root = Path(os.environ.get("VOXAGENT_CACHE", Path.home() / ".cache" / "voxagent"))
    path = root / "web"
    path.mkdir(parents=True, exist_ok=True)
    return path


def speech_samples() -> tuple[np.ndarray[Any, Any], int]:
    """The recording as float32 mono samples and its rate, after checking its sha256."""
    if not SPEECH.is_file():
        raise SpeechUnavailable(f"{SPEECH} is missing (apt-get install alsa-utils)")
    digest = hashlib.sha256(SPEECH.read_bytes()).hexdigest()
    if digest != SPEECH_SHA256:
        raise SpeechUnavailable(f"{SPEECH} has sha256 {digest}, expected {SPEECH_SHA256}")
    samples, rate = sf.read(SPEECH, dtype="float32", always_2d=True)
    return samples.mean(axis=1).astype(np.float32), int(rate)


def padded_speech(lead_s: float = 0.5, trail_s: float = 3.0) -> Path:
    """The recording with `lead_s` of silence before and `trail_s` after, as a 16-bit WAV."""
    path = cache_dir() / f"front_center_{lead_s:g}_{trail_s:g}.wav"
    if not path.is_file():
        samples, rate = speech_samples()
        silence = np.zeros
        audio = np.concatenate(
            (silence(int(lead_s * rate), np.float32), samples, silence(int(trail_s * rate)))
        )
        partial = path.with_suffix(".partial.wav")
        sf.write(partial, audio, rate, subtype="PCM_16")
        partial.replace(path)
    return path


def chromium_args(wav: Path, *, loop: bool = False) -> list[str]:
    """Command-line switches for headless Chromium with `wav` as its microphone."""
    return [
        "--use-fake-ui-for-media-stream",  # grant the microphone without asking
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}{'' if loop else '%noloop'}",
        "--autoplay-policy=no-user-gesture-required",
        "--no-sandbox",  # tests run as root in CI
    ]


def have_chromium() -> str | None:
    """None when Chromium and Playwright are there, else what is missing."""
    if not CHROMIUM.is_file() and shutil.which("chromium") is None:
        return "Debian's chromium package is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401  # only checking it is there
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None
