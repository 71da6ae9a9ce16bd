"""voxagent's public test kit: a scripted OpenAI-compatible server that behaves like vLLM.

>>> from voxagent.testing import Reply, ScriptedServer
>>> async with ScriptedServer([Reply.tool_call("set_light", {"room": "kitchen", "on": True}),
...                            Reply.text("Done.")]) as server:
...     ...  # point your agent at server.base_url; afterwards assert server.errors == []

See docs/testing.md. The realtime websocket server lives in `voxagent.testing.realtime_server`,
the tiny Voxtral model files in `voxagent.testing.tekken`.
"""

from voxagent.testing.records import (
    Rejection,
    RejectionKind,
    ScriptedRequest,
    TranscriptionRequest,
)
from voxagent.testing.replies import Fault, Reply, ScriptedCall, ScriptItem
from voxagent.testing.server import ScriptedServer
from voxagent.testing.validation import InvalidRequest, VllmValidator

__all__ = [
    "Fault",
    "InvalidRequest",
    "Rejection",
    "RejectionKind",
    "Reply",
    "ScriptItem",
    "ScriptedCall",
    "ScriptedRequest",
    "ScriptedServer",
    "TranscriptionRequest",
    "VllmValidator",
]
