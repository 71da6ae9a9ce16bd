"""Audio in: sources (microphone, files, arrays, PCM), conversion, endpointing and VAD scorers.

Names load lazily on first use so `import voxagent` pulls in neither numpy nor sounddevice.

Example:
    >>> async for utterance in utterances(Microphone()):
    ...     clip = utterance.to_clip()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> module that defines it; resolved by __getattr__ below.
_EXPORTS: dict[str, str] = {
    "AudioClip": "voxagent.audio.clip",
    "SAMPLE_RATE": "voxagent.audio.convert",
    "StreamResampler": "voxagent.audio.convert",
    "encode_wav": "voxagent.audio.convert",
    "resample": "voxagent.audio.convert",
    "to_mono": "voxagent.audio.convert",
    "AudioInput": "voxagent.audio.ingest",
    "to_clip": "voxagent.audio.ingest",
    "read_clip": "voxagent.audio.ingest",
    "check_clip": "voxagent.audio.ingest",
    "MAX_INPUT_BYTES": "voxagent.audio.ingest",
    "MAX_INPUT_SECONDS": "voxagent.audio.ingest",
    "AnyioClock": "voxagent.audio.sources",
    "ArraySource": "voxagent.audio.sources",
    "AudioFile": "voxagent.audio.sources",
    "AudioSource": "voxagent.audio.sources",
    "Clock": "voxagent.audio.sources",
    "Frame": "voxagent.audio.sources",
    "PCMSource": "voxagent.audio.sources",
    "InputDevice": "voxagent.audio.microphone",
    "Microphone": "voxagent.audio.microphone",
    "list_input_devices": "voxagent.audio.microphone",
    "Endpointer": "voxagent.audio.endpointing",
    "EndpointerSettings": "voxagent.audio.endpointing",
    "Utterance": "voxagent.audio.endpointing",
    "VoiceEnd": "voxagent.audio.endpointing",
    "VoicePause": "voxagent.audio.endpointing",
    "VoiceResume": "voxagent.audio.endpointing",
    "VoiceStart": "voxagent.audio.endpointing",
    "SCORERS": "voxagent.audio.vad",
    "Scorer": "voxagent.audio.vad",
    "energy_scorer": "voxagent.audio.vad",
    "make_scorer": "voxagent.audio.vad",
    "silero_scorer": "voxagent.audio.vad",
    "webrtc_scorer": "voxagent.audio.vad",
    "DEFAULT_VAD": "voxagent.audio.segmentation",
    "DEFAULT_TURN_VAD": "voxagent.audio.segmentation",
    "TurnDetector": "voxagent.audio.turn_detector",
    "TurnPolicy": "voxagent.audio.turn_detector",
    "SmartTurnDetector": "voxagent.audio.turn_detector",
    "PushToTalk": "voxagent.audio.segmentation",
    "segment": "voxagent.audio.segmentation",
    "utterances": "voxagent.audio.segmentation",
}

__all__ = [
    "DEFAULT_TURN_VAD",
    "DEFAULT_VAD",
    "MAX_INPUT_BYTES",
    "MAX_INPUT_SECONDS",
    "SAMPLE_RATE",
    "SCORERS",
    "AnyioClock",
    "ArraySource",
    "AudioClip",
    "AudioFile",
    "AudioInput",
    "AudioSource",
    "Clock",
    "Endpointer",
    "EndpointerSettings",
    "Frame",
    "InputDevice",
    "Microphone",
    "PCMSource",
    "PushToTalk",
    "Scorer",
    "SmartTurnDetector",
    "StreamResampler",
    "TurnDetector",
    "TurnPolicy",
    "Utterance",
    "VoiceEnd",
    "VoicePause",
    "VoiceResume",
    "VoiceStart",
    "check_clip",
    "encode_wav",
    "energy_scorer",
    "list_input_devices",
    "make_scorer",
    "read_clip",
    "resample",
    "segment",
    "silero_scorer",
    "to_clip",
    "to_mono",
    "utterances",
    "webrtc_scorer",
]

if TYPE_CHECKING:
    from voxagent.audio.clip import AudioClip
    from voxagent.audio.convert import SAMPLE_RATE, StreamResampler, encode_wav, resample, to_mono
    from voxagent.audio.endpointing import (
        Endpointer,
        EndpointerSettings,
        Utterance,
        VoiceEnd,
        VoicePause,
        VoiceResume,
        VoiceStart,
    )
    from voxagent.audio.ingest import (
        MAX_INPUT_BYTES,
        MAX_INPUT_SECONDS,
        AudioInput,
        check_clip,
        read_clip,
        to_clip,
    )
    from voxagent.audio.microphone import InputDevice, Microphone, list_input_devices
    from voxagent.audio.segmentation import (
        DEFAULT_TURN_VAD,
        DEFAULT_VAD,
        PushToTalk,
        segment,
        utterances,
    )
    from voxagent.audio.sources import (
        AnyioClock,
        ArraySource,
        AudioFile,
        AudioSource,
        Clock,
        Frame,
        PCMSource,
    )
    from voxagent.audio.turn_detector import SmartTurnDetector, TurnDetector, TurnPolicy
    from voxagent.audio.vad import (
        SCORERS,
        Scorer,
        energy_scorer,
        make_scorer,
        silero_scorer,
        webrtc_scorer,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'voxagent.audio' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
