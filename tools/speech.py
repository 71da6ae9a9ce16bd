"""Synthesized test speech with known boundaries (espeak-ng), clean or mixed with noise.

Used by the endpointing accuracy test, tools/bench_endpointing.py and the microphone integration
test. Each item is one utterance padded with known silences, so the true start and end of speech
are known to the sample. Noise is white or brown ("recorded room": energy falling 6 dB/octave),
mixed at a given SNR measured over the speech itself.

CLI:  python tools/speech.py OUT_DIR [--snr 10] [--noise white|brown]  (writes WAVs + truth.json)
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from voxagent.audio.convert import SAMPLE_RATE, encode_wav, resample  # after path

Samples = npt.NDArray[np.float32]

SENTENCES: dict[str, list[str]] = {
    "en": [
        "Turn on the kitchen light.",
        "What is the weather like tomorrow?",
        "Set an alarm for seven thirty.",
        "Play some music in the living room.",
        "Remind me to call my sister tonight.",
        "How long does it take to boil an egg?",
    ],
    "fr": [
        "Allume la lumière de la cuisine.",
        "Quel temps fera-t-il demain?",
        "Mets un réveil à sept heures.",
        "Joue de la musique dans le salon.",
        "Rappelle-moi d'appeler ma sœur ce soir.",
        "Combien de temps faut-il pour cuire un œuf?",
    ],
    "de": [
        "Schalte das Licht in der Küche ein.",
        "Wie wird das Wetter morgen?",
        "Stelle einen Wecker auf sieben Uhr.",
        "Spiele Musik im Wohnzimmer.",
        "Erinnere mich heute Abend an meine Schwester.",
        "Wie lange kocht ein Ei?",
    ],
    "es": [
        "Enciende la luz de la cocina.",
        "¿Qué tiempo hará mañana?",
        "Pon una alarma a las siete y media.",
        "Pon música en el salón.",
        "Recuérdame llamar a mi hermana esta noche.",
        "¿Cuánto tarda en cocerse un huevo?",
    ],
    "it": [
        "Accendi la luce della cucina.",
        "Che tempo farà domani?",
        "Imposta una sveglia alle sette e mezza.",
        "Metti un po' di musica in salotto.",
        "Ricordami di chiamare mia sorella stasera.",
        "Quanto ci vuole per cuocere un uovo?",
    ],
    "pt": [
        "Acende a luz da cozinha.",
        "Como vai estar o tempo amanhã?",
        "Põe um alarme para as sete e meia.",
        "Toca música na sala de estar.",
        "Lembra-me de ligar à minha irmã hoje à noite.",
        "Quanto tempo demora a cozer um ovo?",
    ],
    "nl": [
        "Doe het licht in de keuken aan.",
        "Wat voor weer wordt het morgen?",
        "Zet een wekker om half acht.",
        "Speel muziek in de woonkamer.",
        "Herinner me eraan mijn zus te bellen.",
        "Hoe lang moet een ei koken?",
    ],
    "hi": [
        "रसोई की बत्ती जलाओ।",
        "कल मौसम कैसा रहेगा?",
        "सात बजे का अलार्म लगाओ।",
        "बैठक में संगीत चलाओ।",
        "मुझे आज रात बहन को फोन करना याद दिलाओ।",
        "अंडा उबालने में कितना समय लगता है?",
    ],
}
LANGUAGES = tuple(SENTENCES)


@dataclass(frozen=True)
class Item:
    """One padded utterance and its truth.

    Attributes:
        name: Stable identifier ("en-3").
        lang: espeak-ng voice.
        text: What is said.
        samples: float32 mono 16 kHz: lead silence, speech, trailing silence (noise-free).
        start: True start of speech in seconds.
        end: True end of speech in seconds.
    """

    name: str
    lang: str
    text: str
    samples: Samples
    start: float
    end: float


def have_espeak() -> bool:
    """Whether espeak-ng is installed."""
    return shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=256)
def _synthesize_cached(text: str, lang: str) -> bytes:
    result = subprocess.run(
        ["espeak-ng", "-v", lang, "--stdout", text], capture_output=True, check=True, timeout=30
    )
    return result.stdout


def synthesize(text: str, lang: str = "en") -> Samples:
    """Speak `text` with espeak-ng; return float32 mono 16 kHz samples (lead/trail trimmed)."""
    data, rate = sf.read(io.BytesIO(_synthesize_cached(text, lang)), dtype="float32")
    speech = resample(data, int(rate), SAMPLE_RATE)
    start, end = speech_bounds(speech)
    return speech[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)].copy()


def speech_bounds(samples: Samples, threshold_dbfs: float = -45.0) -> tuple[float, float]:
    """First and last 5 ms block louder than `threshold_dbfs` (RMS), in seconds."""
    block = SAMPLE_RATE // 200
    usable = samples.size - samples.size % block
    rms = np.sqrt(np.mean(samples[:usable].reshape(-1, block).astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(20 * np.log10(rms + 1e-12) > threshold_dbfs)
    if loud.size == 0:
        return 0.0, 0.0
    return loud[0] * block / SAMPLE_RATE, (loud[-1] + 1) * block / SAMPLE_RATE


def padded(speech: Samples, lead_s: float, trail_s: float) -> tuple[Samples, float, float]:
    """Surround speech with exact silence; return (samples, start, end)."""
    lead = np.zeros(round(lead_s * SAMPLE_RATE), dtype=np.float32)
    trail = np.zeros(round(trail_s * SAMPLE_RATE), dtype=np.float32)
    return (
        np.concatenate((lead, speech, trail)),
        lead.size / SAMPLE_RATE,
        (lead.size + speech.size) / SAMPLE_RATE,
    )


def corpus(per_language: int = 6, seed: int = 0, trail_s: float = 1.5) -> list[Item]:
    """`per_language` utterances in each of the 8 languages (48 by default), randomly padded."""
    rng = np.random.default_rng(seed)
    items = []
    for lang, sentences in SENTENCES.items():
        for i, text in enumerate(sentences[:per_language]):
            samples, start, end = padded(synthesize(text, lang), rng.uniform(0.6, 1.5), trail_s)
            items.append(Item(f"{lang}-{i}", lang, text, samples, start, end))
    return items


def noise(kind: str, size: int, rng: np.random.Generator) -> Samples:
    """Unit-RMS noise: "white" (flat) or "brown" (power falling as 1/f^2, like room rumble)."""
    white = rng.standard_normal(size)
    if kind == "white":
        shaped = white
    elif kind == "brown":
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(size, 1.0 / SAMPLE_RATE)
        spectrum *= 1.0 / np.maximum(freqs, 20.0)  # flat below 20 Hz: no DC drift
        shaped = np.fft.irfft(spectrum, size)
    else:
        raise ValueError(f"unknown noise {kind!r}; use white or brown")
    return (shaped / np.sqrt(np.mean(shaped**2))).astype(np.float32)


def mix(item: Item, kind: str | None, snr_db: float, seed: int = 0) -> Samples:
    """Item audio with noise at `snr_db` (speech power over the true speech span vs noise)."""
    if kind is None:
        return item.samples
    rng = np.random.default_rng(seed)
    speech = item.samples[int(item.start * SAMPLE_RATE) : int(item.end * SAMPLE_RATE)]
    speech_rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
    scale = speech_rms / (10 ** (snr_db / 20))
    mixed = item.samples + scale * noise(kind, item.samples.size, rng)
    peak = float(np.max(np.abs(mixed)))
    return (mixed / peak * 0.9 if peak > 0.99 else mixed).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    """Write the corpus as WAV files plus truth.json (boundaries) into a directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--noise", choices=["white", "brown"], default=None)
    parser.add_argument("--snr", type=float, default=20.0)
    parser.add_argument("--per-language", type=int, default=6)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    truth = {}
    for n, item in enumerate(corpus(args.per_language)):
        (args.out / f"{item.name}.wav").write_bytes(encode_wav(mix(item, args.noise, args.snr, n)))
        truth[item.name] = {
            "lang": item.lang,
            "text": item.text,
            "start": item.start,
            "end": item.end,
        }
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False))
    print(f"wrote {len(truth)} utterances to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
