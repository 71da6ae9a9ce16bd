"""Write the example eval suite's takes: espeak-ng in three languages, each clean and noisy.

python tools/make_eval_audio.py [--out examples/eval/audio] [--force]

For every (language, intent) of PHRASES it writes `OUT/LANG/INTENT/espeak.wav` (16 kHz mono, 0.3 s
of silence each side) and `OUT/LANG/INTENT/espeak_brown10dB.wav` (the same mixed with brown noise
at 10 dB SNR, seeded). examples/eval/smart_home.toml points at these folders; each folder is a
case's directory of takes, so its two files are two takes of the same intent. The folder is
git-ignored: the files are made from packages here, never committed. A stamp (the phrases and the
espeak-ng version) makes a second run a no-op; tools/test.sh runs it before the tests.

Synthetic speech says nothing about real users (docs/evals.md says how to record your own takes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from voxagent.eval.perturb import add_noise, generated_noise  # noqa: E402  # after the path

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "kitchen_on": "Turn on the kitchen light please.",
        "bedroom_off": "Switch off the light in the bedroom.",
        "thermostat_21": "Set the heating to twenty one degrees.",
        "pasta_timer": "Start a pasta timer for ten minutes.",
        "unlock_door": "Unlock the front door.",
        "what_time": "What time is it?",
    },
    "fr": {
        "kitchen_on": "Allume la lumière de la cuisine, s'il te plaît.",
        "bedroom_off": "Éteins la lumière de la chambre.",
        "thermostat_21": "Règle le chauffage sur vingt et un degrés.",
        "pasta_timer": "Lance un minuteur pâtes de dix minutes.",
        "unlock_door": "Déverrouille la porte d'entrée.",
        "what_time": "Quelle heure est-il?",
    },
    "de": {
        "kitchen_on": "Schalte bitte das Licht in der Küche ein.",
        "bedroom_off": "Mach das Licht im Schlafzimmer aus.",
        "thermostat_21": "Stelle die Heizung auf einundzwanzig Grad.",
        "pasta_timer": "Starte einen Nudel-Timer für zehn Minuten.",
        "unlock_door": "Schließ die Haustür auf.",
        "what_time": "Wie spät ist es?",
    },
}
NOISE_SNR_DB = 10.0
RATE = 16000


def _espeak() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        sys.exit("espeak-ng is missing: apt-get install espeak-ng")
    return found


def speak(voice: str, text: str, *, silence_s: float = 0.3) -> np.ndarray:
    """`text` spoken by espeak-ng, 16 kHz mono float32, with silence on each side."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run([_espeak(), "-v", voice, "-w", str(raw), text], check=True)
        samples, rate = sf.read(raw, dtype="float32")
    samples = soxr.resample(samples, rate, RATE)
    pad = np.zeros(int(silence_s * RATE), dtype=np.float32)
    return np.concatenate([pad, samples, pad]).astype(np.float32)


def _stamp() -> str:
    version = subprocess.run(
        [_espeak(), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    table = json.dumps({"phrases": PHRASES, "snr": NOISE_SNR_DB, "espeak": version})
    return hashlib.sha256(table.encode()).hexdigest()


def expected_files(out: Path) -> list[Path]:
    """Every file this script writes under `out`."""
    return [
        out / lang / intent / name
        for lang, intents in PHRASES.items()
        for intent in intents
        for name in ("espeak.wav", f"espeak_brown{NOISE_SNR_DB:g}dB.wav")
    ]


def generate(out: Path, *, force: bool = False) -> bool:
    """Write the takes unless an identical set is already there; True when written."""
    stamp_file = out / ".stamp"
    stamp = _stamp()
    if (
        not force
        and stamp_file.is_file()
        and stamp_file.read_text() == stamp
        and all(p.is_file() for p in expected_files(out))
    ):
        return False
    for index, (lang, intents) in enumerate(PHRASES.items()):
        for number, (intent, text) in enumerate(intents.items()):
            folder = out / lang / intent
            folder.mkdir(parents=True, exist_ok=True)
            clean = speak(lang, text)
            sf.write(folder / "espeak.wav", clean, RATE, subtype="PCM_16")
            rng = np.random.default_rng([index, number])
            noise = generated_noise("brown", clean.size, rng)
            noisy = add_noise(clean, NOISE_SNR_DB, noise, rng)
            sf.write(folder / f"espeak_brown{NOISE_SNR_DB:g}dB.wav", noisy, RATE, subtype="PCM_16")
    stamp_file.write_text(stamp)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "examples" / "eval" / "audio")
    parser.add_argument("--force", action="store_true", help="write them even if up to date")
    args = parser.parse_args()
    wrote = generate(args.out, force=args.force)
    count = len(expected_files(args.out))
    print(f"{'wrote' if wrote else 'up to date:'} {count} takes in {args.out}")


if __name__ == "__main__":
    main()
