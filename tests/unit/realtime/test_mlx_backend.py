"""The mlx-audio backend, driven by a fake `mlx_audio.stt` module (no Apple silicon here)."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from voxagent.errors import AudioError, ConfigurationError
from voxagent.events import TranscriptDelta, TranscriptFinal
from voxagent.realtime.mlx import DEFAULT_MLX_MODEL, MLXTranscriber

pytestmark = pytest.mark.anyio


class FakeModel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[np.ndarray, dict[str, Any]]] = []

    def generate(self, audio: np.ndarray, **options: Any) -> Iterator[str]:
        self.calls.append((audio, options))
        yield from [" Turn", " on", "", " the light"]


def fake_importer(loaded: list[FakeModel]) -> Any:
    def load(name: str) -> FakeModel:
        model = FakeModel(name)
        loaded.append(model)
        return model

    module = types.ModuleType("mlx_audio.stt")
    module.load = load  # type: ignore[attr-defined]

    def importer(name: str) -> types.ModuleType:
        assert name == "mlx_audio.stt"
        return module

    return importer


async def test_deltas_then_final_from_the_gathered_utterance(tone: Any) -> None:
    loaded: list[FakeModel] = []
    async with MLXTranscriber(importer=fake_importer(loaded)) as rt:
        events = [e async for e in rt.transcribe(tone(0.5))]
    assert events == [
        TranscriptDelta(" Turn"),
        TranscriptDelta(" on"),
        TranscriptDelta(" the light"),
        TranscriptFinal("Turn on the light"),
    ]
    (model,) = loaded
    assert model.name == DEFAULT_MLX_MODEL
    ((audio, options),) = model.calls
    assert audio.dtype == np.float32 and audio.shape == (8000,)
    assert 0.099 < float(np.max(np.abs(audio))) < 0.1001  # the tone's amplitude survives
    assert options["stream"] is True and options["temperature"] == 0.0


async def test_missing_mlx_audio_is_a_clear_error() -> None:
    def importer(name: str) -> types.ModuleType:
        raise ModuleNotFoundError(f"No module named {name!r}")

    with pytest.raises(ConfigurationError, match="mlx-audio") as caught:
        async with MLXTranscriber(importer=importer):
            pass
    assert caught.value.hint and "pip install mlx-audio" in caught.value.hint


async def test_too_long_utterance_is_refused(tone: Any) -> None:
    async with MLXTranscriber(importer=fake_importer([]), max_seconds=0.2) as rt:
        with pytest.raises(AudioError, match=r"longer than 0\.2 s"):
            await rt.transcribe_text(tone(0.5))


async def test_needs_async_with(tone: Any) -> None:
    with pytest.raises(ConfigurationError, match="async with"):
        await MLXTranscriber(importer=fake_importer([])).transcribe_text(tone(0.1))


def test_mlx_audio_is_imported_lazily() -> None:
    assert "mlx_audio" not in sys.modules
