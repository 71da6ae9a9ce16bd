"""The model client: chat, streaming, transcription and model listing for Voxtral servers.

>>> async with ModelClient("http://127.0.0.1:8000/v1") as client:
...     response = await client.chat([{"role": "user", "content": "Hello"}])
"""

from voxagent.model.admission import Admission
from voxagent.model.client import ModelClient
from voxagent.model.dialects import MISTRAL, VLLM, Dialect, detect_dialect
from voxagent.model.http_errors import ModelTimeoutError
from voxagent.model.retry import RetryPolicy
from voxagent.model.types import (
    ChatResponse,
    ModelInfo,
    StreamDone,
    StreamItem,
    TextDelta,
    ToolCall,
    ToolCallReady,
    Usage,
)

__all__ = [
    "MISTRAL",
    "VLLM",
    "Admission",
    "ChatResponse",
    "Dialect",
    "ModelClient",
    "ModelInfo",
    "ModelTimeoutError",
    "RetryPolicy",
    "StreamDone",
    "StreamItem",
    "TextDelta",
    "ToolCall",
    "ToolCallReady",
    "Usage",
    "detect_dialect",
]
