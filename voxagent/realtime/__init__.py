"""Live captions: streaming transcription over vLLM's and Mistral's realtime websockets, or MLX.

Names load lazily on first use, so importing the package loads neither websockets nor numpy.

Example:
    >>> async with RealtimeTranscriber("http://127.0.0.1:8001/v1") as rt:
    ...     async for event in rt.transcribe(Microphone()):
    ...         print(event.text)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxagent._lazy import lazy_exports

# name -> the module that defines it (see voxagent._lazy).
_EXPORTS: dict[str, str] = {
    "RealtimeTimings": "voxagent.realtime.audio",
    "MLXTranscriber": "voxagent.realtime.mlx",
    "MISTRAL_REALTIME": "voxagent.realtime.protocol",
    "RealtimeModelNotFoundError": "voxagent.realtime.protocol",
    "RealtimeProtocol": "voxagent.realtime.protocol",
    "VLLM_REALTIME": "voxagent.realtime.protocol",
    "MISTRAL_REALTIME_MODEL": "voxagent.realtime.transcriber",
    "RealtimeTranscriber": "voxagent.realtime.transcriber",
    "mistral_realtime_transcriber": "voxagent.realtime.transcriber",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from voxagent.realtime.audio import RealtimeTimings as RealtimeTimings
    from voxagent.realtime.mlx import MLXTranscriber as MLXTranscriber
    from voxagent.realtime.protocol import (
        MISTRAL_REALTIME as MISTRAL_REALTIME,
        VLLM_REALTIME as VLLM_REALTIME,
        RealtimeModelNotFoundError as RealtimeModelNotFoundError,
        RealtimeProtocol as RealtimeProtocol,
    )
    from voxagent.realtime.transcriber import (
        MISTRAL_REALTIME_MODEL as MISTRAL_REALTIME_MODEL,
        RealtimeTranscriber as RealtimeTranscriber,
        mistral_realtime_transcriber as mistral_realtime_transcriber,
    )
