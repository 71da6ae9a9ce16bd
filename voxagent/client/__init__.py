"""The HTTP model client: chat, streaming, transcription and model listing for Voxtral servers.

Names load lazily on first use, so importing the data types (`voxagent.client.types`,
`voxagent.client.dialects`) loads no HTTP stack; only `ModelClient` brings in httpx.

Example:
    >>> async with ModelClient("http://127.0.0.1:8000/v1") as client:
    ...     response = await client.chat([{"role": "user", "content": "Hello"}])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxagent._lazy import lazy_exports

# name -> the module that defines it (see voxagent._lazy).
_EXPORTS: dict[str, str] = {
    "Admission": "voxagent.client.admission",
    "ModelClient": "voxagent.client.client",
    "Dialect": "voxagent.client.dialects",
    "detect_dialect": "voxagent.client.dialects",
    "MISTRAL": "voxagent.client.dialects",
    "VLLM": "voxagent.client.dialects",
    "ModelTimeoutError": "voxagent.client.errors",
    "RetryPolicy": "voxagent.client.retry",
    "ChatResponse": "voxagent.client.types",
    "ModelInfo": "voxagent.client.types",
    "StreamDone": "voxagent.client.types",
    "StreamItem": "voxagent.client.types",
    "TextDelta": "voxagent.client.types",
    "ToolCall": "voxagent.client.types",
    "ToolCallReady": "voxagent.client.types",
    "Usage": "voxagent.client.types",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from voxagent.client.admission import Admission as Admission
    from voxagent.client.client import ModelClient as ModelClient
    from voxagent.client.dialects import (
        MISTRAL as MISTRAL,
        VLLM as VLLM,
        Dialect as Dialect,
        detect_dialect as detect_dialect,
    )
    from voxagent.client.errors import ModelTimeoutError as ModelTimeoutError
    from voxagent.client.retry import RetryPolicy as RetryPolicy
    from voxagent.client.types import (
        ChatResponse as ChatResponse,
        ModelInfo as ModelInfo,
        StreamDone as StreamDone,
        StreamItem as StreamItem,
        TextDelta as TextDelta,
        ToolCall as ToolCall,
        ToolCallReady as ToolCallReady,
        Usage as Usage,
    )
