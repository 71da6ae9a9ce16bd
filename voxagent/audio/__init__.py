"""Audio in: sources (microphone, files, arrays, PCM), conversion, endpointing and VAD scorers.

Names load lazily on first use so `import voxagent` pulls in neither numpy nor sounddevice.

Example:
    >>> async for utterance in utterances(Microphone()):
    ...     clip = utterance.to_clip()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxagent._lazy import lazy_exports

# name -> the module that defines it (see voxagent._lazy).
_EXPORTS: dict[str, str] = {
    "AudioClip": "voxagent.audio.clip",
    "encode_wav": "voxagent.audio.convert",
    "resample": "voxagent.audio.convert",
    "SAMPLE_RATE": "voxagent.audio.convert",
    "StreamResampler": "voxagent.audio.convert",
    "to_mono": "voxagent.audio.convert",
    "Endpointer": "voxagent.audio.endpointing",
    "EndpointerSettings": "voxagent.audio.endpointing",
    "Utterance": "voxagent.audio.voice_events",
    "VoiceEnd": "voxagent.audio.voice_events",
    "VoicePause": "voxagent.audio.voice_events",
    "VoiceResume": "voxagent.audio.voice_events",
    "VoiceStart": "voxagent.audio.voice_events",
    "join_utterances": "voxagent.audio.voice_events",
    "AudioInput": "voxagent.audio.ingest",
    "check_clip": "voxagent.audio.ingest",
    "MAX_INPUT_BYTES": "voxagent.audio.ingest",
    "MAX_INPUT_SECONDS": "voxagent.audio.ingest",
    "read_clip": "voxagent.audio.ingest",
    "to_clip": "voxagent.audio.ingest",
    "InputDevice": "voxagent.audio.microphone",
    "list_input_devices": "voxagent.audio.microphone",
    "Microphone": "voxagent.audio.microphone",
    "DEFAULT_TURN_VAD": "voxagent.audio.segmentation",
    "DEFAULT_VAD": "voxagent.audio.segmentation",
    "PushToTalk": "voxagent.audio.segmentation",
    "segment": "voxagent.audio.segmentation",
    "utterances": "voxagent.audio.segmentation",
    "AnyioClock": "voxagent.audio.sources",
    "ArraySource": "voxagent.audio.sources",
    "AudioFile": "voxagent.audio.sources",
    "AudioSource": "voxagent.audio.sources",
    "Clock": "voxagent.clock",
    "Frame": "voxagent.audio.sources",
    "PCMSource": "voxagent.audio.sources",
    "SmartTurnDetector": "voxagent.audio.turn_detector",
    "TurnDetector": "voxagent.audio.turn_detector",
    "TurnPolicy": "voxagent.audio.turn_detector",
    "energy_scorer": "voxagent.audio.vad",
    "make_scorer": "voxagent.audio.vad",
    "Scorer": "voxagent.audio.vad",
    "SCORERS": "voxagent.audio.vad",
    "silero_scorer": "voxagent.audio.vad",
    "webrtc_scorer": "voxagent.audio.vad",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from voxagent.audio.clip import (
        AudioClip as AudioClip,
    )
    from voxagent.audio.convert import (
        SAMPLE_RATE as SAMPLE_RATE,
        StreamResampler as StreamResampler,
        encode_wav as encode_wav,
        resample as resample,
        to_mono as to_mono,
    )
    from voxagent.audio.endpointing import (
        Endpointer as Endpointer,
        EndpointerSettings as EndpointerSettings,
    )
    from voxagent.audio.ingest import (
        MAX_INPUT_BYTES as MAX_INPUT_BYTES,
        MAX_INPUT_SECONDS as MAX_INPUT_SECONDS,
        AudioInput as AudioInput,
        check_clip as check_clip,
        read_clip as read_clip,
        to_clip as to_clip,
    )
    from voxagent.audio.microphone import (
        InputDevice as InputDevice,
        Microphone as Microphone,
        list_input_devices as list_input_devices,
    )
    from voxagent.audio.segmentation import (
        DEFAULT_TURN_VAD as DEFAULT_TURN_VAD,
        DEFAULT_VAD as DEFAULT_VAD,
        PushToTalk as PushToTalk,
        segment as segment,
        utterances as utterances,
    )
    from voxagent.audio.sources import (
        AnyioClock as AnyioClock,
        ArraySource as ArraySource,
        AudioFile as AudioFile,
        AudioSource as AudioSource,
        Frame as Frame,
        PCMSource as PCMSource,
    )
    from voxagent.audio.turn_detector import (
        SmartTurnDetector as SmartTurnDetector,
        TurnDetector as TurnDetector,
        TurnPolicy as TurnPolicy,
    )
    from voxagent.audio.vad import (
        SCORERS as SCORERS,
        Scorer as Scorer,
        energy_scorer as energy_scorer,
        make_scorer as make_scorer,
        silero_scorer as silero_scorer,
        webrtc_scorer as webrtc_scorer,
    )
    from voxagent.audio.voice_events import (
        Utterance as Utterance,
        VoiceEnd as VoiceEnd,
        VoicePause as VoicePause,
        VoiceResume as VoiceResume,
        VoiceStart as VoiceStart,
        join_utterances as join_utterances,
    )
    from voxagent.clock import Clock as Clock
