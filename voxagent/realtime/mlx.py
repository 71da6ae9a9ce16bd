"""Voxtral Realtime on Apple silicon through mlx-audio, behind the realtime transcriber's interface.

    async with MLXTranscriber() as rt:              # loads the model (imports mlx-audio lazily)
        async for event in rt.transcribe(source):   # TranscriptDelta..., then TranscriptFinal
            ...

mlx-audio's Voxtral Realtime `generate(audio, stream=True)` takes a whole clip and yields text
deltas as it decodes, so here the utterance's audio is gathered first (bounded by `max_seconds`)
and the captions come while it is decoded, not while the user speaks. Each decoding step runs in a
worker thread, never on the event loop.

UNTESTED ON REAL HARDWARE: the tests drive it with a fake `mlx_audio` module (this project's
machines have no Apple silicon). `pip install mlx-audio` on a Mac to use it.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from types import ModuleType, TracebackType
from typing import Any

import anyio
import numpy as np

from voxagent.audio.convert import SAMPLE_RATE, pcm16_to_float
from voxagent.errors import AudioError, ConfigurationError
from voxagent.events import TranscriptDelta, TranscriptFinal
from voxagent.realtime.audio import to_pcm16

__all__ = ["DEFAULT_MLX_MODEL", "MLXTranscriber"]

DEFAULT_MLX_MODEL = "mlx-community/Voxtral-Mini-4B-Realtime-2602-4bit"
"""A community 4-bit conversion of Voxtral Mini 4B Realtime for MLX."""


class MLXTranscriber:
    """Transcribe utterances locally with mlx-audio (Apple silicon).

    Args:
        model: A Hugging Face repository or local directory mlx-audio can load.
        max_seconds: The longest utterance accepted; longer raises `AudioError`.
        max_tokens: The most tokens decoded per utterance.
        importer: Imports a module by name (tests pass a fake `mlx_audio.stt`).
    """

    def __init__(
        self,
        model: str = DEFAULT_MLX_MODEL,
        *,
        max_seconds: float = 600.0,
        max_tokens: int = 4096,
        importer: Callable[[str], ModuleType] = importlib.import_module,
    ) -> None:
        self.model_name = model
        self._max_samples = int(max_seconds * SAMPLE_RATE)
        self._max_tokens = max_tokens
        self._importer = importer
        self._model: Any = None

    async def __aenter__(self) -> MLXTranscriber:
        try:
            stt = self._importer("mlx_audio.stt")
        except ImportError as exc:
            raise ConfigurationError(
                f"the mlx backend needs mlx-audio, which cannot be imported ({exc})",
                hint="On a Mac with Apple silicon: pip install mlx-audio. Elsewhere use "
                "RealtimeTranscriber with a vLLM server.",
            ) from None
        self._model = await anyio.to_thread.run_sync(stt.load, self.model_name)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._model = None

    async def transcribe(
        self, source: AsyncIterable[Any]
    ) -> AsyncIterator[TranscriptDelta | TranscriptFinal]:
        """Gather one utterance from `source`, then yield its transcript as it is decoded.

        Args:
            source: Frames, float32/int16 arrays or PCM16LE bytes, mono 16 kHz (as for
                `RealtimeTranscriber.transcribe`).

        Raises:
            ConfigurationError: Used outside `async with`.
            AudioError: The audio is unusable or longer than max_seconds.
        """
        if self._model is None:
            raise ConfigurationError(
                "MLXTranscriber used outside `async with`",
                hint="Write `async with MLXTranscriber(...) as rt:` around the calls.",
            )
        audio = await self._gather(source)
        steps: Iterator[str] = await anyio.to_thread.run_sync(self._start, audio)
        text = ""
        while True:
            delta = await anyio.to_thread.run_sync(next, steps, None)
            if delta is None:
                break
            text += delta
            if delta:
                yield TranscriptDelta(delta)
        yield TranscriptFinal(text.strip())

    async def transcribe_text(self, source: AsyncIterable[Any]) -> str:
        """Gather one utterance from `source` and return its transcript."""
        text = ""
        async for event in self.transcribe(source):
            if isinstance(event, TranscriptFinal):
                text = event.text
        return text

    async def _gather(self, source: AsyncIterable[Any]) -> np.ndarray:
        parts: list[bytes] = []
        size = 0
        async for item in source:
            pcm = to_pcm16(item)
            size += len(pcm) // 2
            if size > self._max_samples:
                raise AudioError(
                    f"utterance longer than {self._max_samples / SAMPLE_RATE:g} s for the mlx "
                    "backend",
                    hint="End utterances sooner, or raise max_seconds.",
                )
            parts.append(pcm)
        return pcm16_to_float(b"".join(parts))

    def _start(self, audio: np.ndarray) -> Iterator[str]:
        result = self._model.generate(
            audio, stream=True, temperature=0.0, max_tokens=self._max_tokens
        )
        return iter(result)
