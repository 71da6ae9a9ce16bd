"""Write the short spoken WAVs in examples/audio/ with espeak-ng (16 kHz mono PCM16).

python tools/make_example_audio.py [--out examples/audio]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

PHRASES = {
    "kitchen_light_on": ("en", "Turn on the kitchen light please."),
    "bedroom_light_off": ("en", "Switch off the light in the bedroom."),
    "thermostat_21": ("en", "Set the heating to twenty one degrees."),
    "pasta_timer": ("en", "Start a pasta timer for ten minutes."),
    "unlock_door": ("en", "Unlock the front door."),
    "yes": ("en", "Yes, do it."),
    "no": ("en", "No."),
    "what_time": ("en", "What time is it?"),
    "todo_dentist": ("en", "Remind me to call the dentist tomorrow, high priority."),
    "salon_lumiere": ("fr", "Allume la lumière de la cuisine."),
}


def speak(voice: str, text: str, out: Path, *, silence_s: float = 0.3) -> None:
    """Synthesize `text` into a 16 kHz mono WAV with `silence_s` of silence on each side."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("espeak-ng is missing: apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run([espeak, "-v", voice, "-w", str(raw), text], check=True)
        samples, rate = sf.read(raw, dtype="float32")
    samples = soxr.resample(samples, rate, 16000)
    pad = np.zeros(int(silence_s * 16000), dtype=np.float32)
    sf.write(out, np.concatenate([pad, samples, pad]), 16000, subtype="PCM_16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "examples/audio")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (voice, text) in PHRASES.items():
        speak(voice, text, args.out / f"{name}.wav")
        print(args.out / f"{name}.wav")


if __name__ == "__main__":
    main()
