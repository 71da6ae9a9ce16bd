"""A run's audio: each take read, perturbed, encoded, and its endpointing wait measured.

Noise is drawn from a generator seeded by (seed, case, take, perturbation, turn) (`run_seed`),
so results do not depend on the order runs finish in.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voxagent.errors import AudioError
from voxagent.eval.perturb import Samples, Variant, apply_variant

if TYPE_CHECKING:
    from voxagent.agent import Agent
    from voxagent.audio.clip import AudioClip

__all__ = ["Prepared", "endpointing_wait", "perturbed_samples", "read_samples", "run_seed"]

# Silence after the clip when measuring endpointing: the user has stopped talking.
_TAIL_S = 1.0


def run_seed(*parts: int | str) -> list[int]:
    """A seed for `numpy.random.default_rng` from ints and strings (strings by their CRC-32)."""
    return [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]


def read_samples(path: Path) -> Samples:
    """A take's samples, mono at 16 kHz, within the limits of any audio input.

    Raises:
        AudioError: Too large, too long, unreadable, empty or not finite.
    """
    import soundfile as sf  # lazy: libsndfile loads when a run first reads audio

    from voxagent.audio.convert import resample, to_mono  # lazy: soxr, with the first take
    from voxagent.audio.ingest import MAX_INPUT_BYTES, MAX_INPUT_SECONDS

    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise AudioError(
                f"{path} is {size} bytes, over the {MAX_INPUT_BYTES}-byte limit",
                hint="use shorter takes",
            )
        info = sf.info(str(path))
        if info.frames / max(info.samplerate, 1) > MAX_INPUT_SECONDS:
            raise AudioError(f"{path} is longer than {MAX_INPUT_SECONDS:g} s", hint="trim it")
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:  # libsndfile errors are RuntimeErrors
        raise AudioError(f"cannot read {path} as audio: {exc}", hint="check the file") from exc
    if data.size == 0 or not np.all(np.isfinite(data)):
        raise AudioError(f"{path} holds no usable samples", hint="record it again")
    return resample(to_mono(data), int(rate))


@dataclass(frozen=True)
class Prepared:
    """A turn's audio, ready to send, and how long the endpointer took to end it (seconds)."""

    clip: AudioClip
    endpointing: float | None


async def endpointing_wait(samples: Samples, agent: Agent[Any]) -> float | None:
    """Stream seconds the agent's endpointer needs after the end of speech to decide it."""
    from voxagent.audio import ArraySource, utterances  # lazy: the VAD loads with the first take

    tail = np.zeros(int(_TAIL_S * 16000), dtype=np.float32)
    last = None
    async for utterance in utterances(
        ArraySource(np.concatenate([samples, tail]), 16000), settings=agent.voice.endpointing
    ):
        last = utterance
    if last is None or last.detected_at is None:
        return None
    return max(0.0, last.detected_at - last.end)


def perturbed_samples(
    path: Path, variant: Variant, seed: list[int], noise: Samples | None
) -> Samples:
    """A take read and perturbed by `variant`, its noise drawn from a generator of `seed`."""
    samples = read_samples(path)
    return apply_variant(variant, samples, np.random.default_rng(seed), noise)
