"""Model-based end of turn: the `TurnDetector` seam, Smart Turn v3 on onnxruntime, the policy.

A VAD only hears silence; a turn detector hears whether what was said sounds finished ("I'd like
to book a table for..." pauses, "...for two at eight." ends). The endpointer asks the detector
when speech has paused and keeps re-asking as the silence grows; the turn ends once the model has
said "finished" at every ask since the pause began, or at a cap on the wait (`TurnPolicy`).

The Smart Turn model (BSD-2, an 8 MB Whisper-tiny classifier, 23 languages) is not shipped with
voxagent: it is found, in order, at the path given, at `$VOXAGENT_TURN_MODEL`, inside an
installed `pipecat-ai` package (located without importing it), or in voxagent's cache
(`~/.cache/voxagent/smart-turn/`, filled by `python tools/real_speech.py model`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from voxagent.audio.convert import Float32Array
from voxagent.audio.melspec import WINDOW_S, log_mel
from voxagent.distribution import pip_install
from voxagent.errors import AudioError, ConfigurationError

__all__ = [
    "MODEL_ENV",
    "MODEL_FILE",
    "SmartTurnDetector",
    "TurnDetector",
    "TurnPolicy",
    "default_detector",
    "find_smart_turn_model",
]

MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
MODEL_ENV = "VOXAGENT_TURN_MODEL"
"""Environment variable naming a Smart Turn ONNX file; `off` (or `none`) disables the detector."""

Decision = Literal["end", "pause", "wait"]
_EPS = 1e-9

_PIPECAT_PATH = ("pipecat", "audio", "turn", "smart_turn", "data", MODEL_FILE)


@runtime_checkable
class TurnDetector(Protocol):
    """Anything that says whether a speaker has finished their turn.

    `probability_complete(samples)` gets the turn's audio so far (16 kHz mono float32, the last
    `WINDOW_S` = 8 s at most, ending now: speech and the silence after it) and returns
    P(turn complete) in [0, 1]. It may be slow (tens of ms): `segment()` calls it in a worker
    thread, so it must not touch the event loop.
    """

    def probability_complete(self, samples: Float32Array) -> float:
        """Return P(the speaker has finished their turn) for audio ending now."""
        ...


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    """When to ask the detector and what answer ends the turn.

    After `first_check_s` of silence the detector is asked, then again every `recheck_s` while
    the silence grows. The turn ends when P(complete) has reached the threshold at every ask
    since the pause began (`steady`), or at `max_silence_s` whatever the model says (the cap).
    The threshold may relax with the silence: it falls linearly from `threshold_start` (at
    `first_check_s`) to `threshold_end` (at `max_silence_s`); by default both are 0.5. Below the
    decision but with the latest P at or above `pause_threshold`, a `VoicePause` (candidate end)
    is reported so a reply can be prepared speculatively: the request leaves at once, the
    decision may wait.

    Why the lowest P and not the latest: the model reads a growing silence as "finished". At a
    mid-sentence pause of real speech its P climbs with the silence (0.04, 0.42, 0.80, 0.92 at
    0.1-0.4 s), while at most true ends it is high from the first ask; a P that was low at the
    start of the pause is the silence talking, not the words, so it waits for the cap.
    `steady=False` judges the latest answer alone; `confirm_asks` > 1 needs that many asks in a
    row at or above the threshold (both measured in docs/benchmarks.md).

    Attributes:
        first_check_s: Silence before the first question (Pipecat: 0.2 s).
        recheck_s: Silence between further questions. 0.15 s decides every turn of the
            real-speech corpus exactly as 0.1 s does with a third fewer questions, and gives
            each question 150 ms of real time: on a slow or busy CPU (one Smart Turn call
            took 95-130 ms here under load) 0.1 s fell behind the live audio.
        threshold_start: P needed to end the turn at the first check.
        threshold_end: P needed just before the cap.
        max_silence_s: Silence that ends the turn whatever the model says. 1.1 s holds the
            0.5-1.05 s pauses people make inside a sentence while the model is unsure, and
            bounds the wait when the model is wrong at a true end (Pipecat waits 3 s).
        pause_threshold: P at which a candidate end is reported before the decision.
        confirm_asks: Asks in a row whose P must reach their threshold to end the turn.
        steady: Judge the lowest P since the pause began, not the latest.
    """

    first_check_s: float = 0.2
    recheck_s: float = 0.15
    threshold_start: float = 0.5
    threshold_end: float = 0.5
    max_silence_s: float = 1.1
    pause_threshold: float = 0.3
    confirm_asks: int = 1
    steady: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.first_check_s < self.max_silence_s or self.recheck_s <= 0.0:
            raise ConfigurationError(
                "TurnPolicy needs 0 < first_check_s < max_silence_s and recheck_s > 0",
                hint=f"got first_check_s={self.first_check_s}, "
                f"max_silence_s={self.max_silence_s}, recheck_s={self.recheck_s}",
            )
        if self.confirm_asks < 1:
            raise ConfigurationError(
                "TurnPolicy.confirm_asks must be at least 1", hint=f"got {self.confirm_asks!r}"
            )
        for name in ("threshold_start", "threshold_end", "pause_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigurationError(
                    f"TurnPolicy.{name} must be a probability", hint=f"got {value!r}"
                )

    def threshold(self, silence_s: float) -> float:
        """P(complete) that ends the turn after `silence_s` of silence."""
        span = self.max_silence_s - self.first_check_s
        done = min(1.0, max(0.0, (silence_s - self.first_check_s) / span))
        return self.threshold_start + (self.threshold_end - self.threshold_start) * done

    def decide(self, answers: Sequence[tuple[float, float]]) -> Decision:
        """What the detector's answers since speech paused say, the latest last.

        Args:
            answers: `(silence_s, P(complete))` of every ask since speech paused, oldest first.

        Returns:
            "end" (the turn is over), "pause" (a candidate end: P reached `pause_threshold`)
            or "wait". The cap (`max_silence_s`) is the caller's: it needs no answer.
        """
        if not answers:
            return "wait"
        evidence = [p for _, p in answers]
        if self.steady:
            evidence = list(itertools.accumulate(evidence, min))
        recent = list(zip(answers, evidence, strict=True))[-self.confirm_asks :]
        if len(recent) == self.confirm_asks and all(
            p >= self.threshold(silence) - _EPS for (silence, _), p in recent
        ):
            return "end"
        return "pause" if answers[-1][1] >= self.pause_threshold - _EPS else "wait"


def _pipecat_model() -> Path | None:
    # find_spec on a top-level name locates the package without importing it (importing pipecat
    # would log and pull in its whole runtime).
    try:
        spec = importlib.util.find_spec("pipecat")
    except (ImportError, ValueError):
        spec = None
    roots = [Path(p).parent for p in (spec.submodule_search_locations or [])] if spec else []
    try:
        dist = importlib.metadata.distribution("pipecat-ai")
        roots.append(Path(str(dist.locate_file(""))))
    except importlib.metadata.PackageNotFoundError:
        pass
    for root in roots:
        candidate = root.joinpath(*_PIPECAT_PATH)
        if candidate.is_file():
            return candidate
    return None


def cache_dir() -> Path:
    """Where voxagent's tools leave the model file (`$XDG_CACHE_HOME/voxagent/smart-turn`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voxagent" / "smart-turn"


def find_smart_turn_model(path: str | os.PathLike[str] | None = None) -> Path | None:
    """Locate the Smart Turn ONNX file; None when there is none (or `$VOXAGENT_TURN_MODEL=off`).

    Args:
        path: An explicit file; it must exist.

    Raises:
        AudioError: `path` (or `$VOXAGENT_TURN_MODEL`) names a file that does not exist.
    """
    given = path if path is not None else os.environ.get(MODEL_ENV) or None
    if isinstance(given, str) and given.strip().lower() in {"off", "none", "0"}:
        return None
    if given is not None:
        candidate = Path(given).expanduser()
        if not candidate.is_file():
            source = "path" if path is not None else f"${MODEL_ENV}"
            raise AudioError(
                f"turn model not found: {candidate}",
                hint=f"the {source} must name a Smart Turn .onnx file ({MODEL_FILE}); "
                f"set {MODEL_ENV}=off to use the VAD alone",
            )
        return candidate
    found = _pipecat_model()
    if found is not None:
        return found
    cached = cache_dir() / MODEL_FILE
    return cached if cached.is_file() else None


class SmartTurnDetector:
    """Smart Turn v3.x (Pipecat's end-of-turn model) on onnxruntime.

    Args:
        model_path: The ONNX file; found by `find_smart_turn_model` when None.
        threads: onnxruntime intra-op threads (one keeps a voice loop from starving the rest).

    Raises:
        AudioError: onnxruntime is missing (the `turn` extra), no model file, or the
            file is not a model onnxruntime can load.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, threads: int = 1) -> None:
        found = find_smart_turn_model(model_path)
        if found is None:
            raise AudioError(
                "no Smart Turn model file found",
                hint=f"{pip_install('turn')} (and pipecat-ai), or run `python tools/"
                f"real_speech.py model`, or set {MODEL_ENV} to a {MODEL_FILE}",
            )
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise AudioError(
                f"onnxruntime is not installed ({exc})",
                hint=pip_install("turn"),
            ) from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session: Any = ort.InferenceSession(
                str(found), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise AudioError(
                f"cannot load the turn model {found}: {exc}",
                hint=f"the file must be Smart Turn v3 ({MODEL_FILE}); set {MODEL_ENV}=off to skip",
            ) from exc
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or list(inputs[0].shape)[1:] != [80, 800]:
            raise AudioError(
                f"{found} is not a Smart Turn v3 model (inputs: {[i.shape for i in inputs]})",
                hint=f"expected one input of shape (batch, 80, 800); use {MODEL_FILE}",
            )
        self._input = str(inputs[0].name)
        self.path = found
        self._lock = threading.Lock()

    def probability_complete(self, samples: Float32Array) -> float:
        """P(turn complete) for the last 8 s of `samples` (16 kHz mono float32)."""
        features = log_mel(np.asarray(samples, dtype=np.float32)[-round(WINDOW_S * 16000) :])
        with self._lock:  # one stream per session; calls from several threads take turns
            output = self._session.run(None, {self._input: features[None, :, :]})
        value = float(np.asarray(output[0]).reshape(-1)[0])
        return min(1.0, max(0.0, value)) if np.isfinite(value) else 0.0

    def __repr__(self) -> str:
        return f"SmartTurnDetector({str(self.path)!r})"


@cache
def _load(path: Path) -> SmartTurnDetector:
    return SmartTurnDetector(path)


def default_detector() -> SmartTurnDetector | None:
    """The detector `segment()` uses by default: Smart Turn when onnxruntime and the model are
    both found (loaded once per process), else None (the VAD decides alone).

    Raises:
        AudioError: `$VOXAGENT_TURN_MODEL` names a missing or unloadable file.
    """
    path = find_smart_turn_model()
    if path is None or importlib.util.find_spec("onnxruntime") is None:
        return None
    return _load(path.resolve())
