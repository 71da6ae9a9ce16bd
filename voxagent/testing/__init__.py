"""voxagent's public test kit: in-process fake models, and a scripted server that acts like vLLM.

`FunctionModel`, `ScriptedModel` and `TestModel` are `ChatModel`s an `Agent` takes directly
(`Agent(ScriptedModel([...]))`): no socket, the same request validation. `ScriptedServer` is the
same on the wire, for what only HTTP shows (faults, headers, retries, the real client).

>>> from voxagent.testing import Reply, ScriptedServer
>>> async with ScriptedServer([Reply.tool_call("set_light", {"room": "kitchen", "on": True}),
...                            Reply.text("Done.")]) as server:
...     ...  # point your agent at server.base_url; afterwards assert server.errors == []

See docs/testing.md. The realtime websocket server lives in `voxagent.testing.realtime_server`,
the tiny Voxtral model files in `voxagent.testing.tekken`.
"""

from voxagent.testing.models import FunctionModel, ModelFunction, ScriptedModel
from voxagent.testing.records import (
    Rejection,
    RejectionKind,
    ScriptedRequest,
    TranscriptionRequest,
)
from voxagent.testing.replies import Fault, Reply, ScriptedCall, ScriptItem
from voxagent.testing.server import ScriptedServer
from voxagent.testing.testmodel import TestModel
from voxagent.testing.validation import InvalidRequest, VllmValidator

__all__ = [
    "Fault",
    "FunctionModel",
    "InvalidRequest",
    "ModelFunction",
    "Rejection",
    "RejectionKind",
    "Reply",
    "ScriptItem",
    "ScriptedCall",
    "ScriptedModel",
    "ScriptedRequest",
    "ScriptedServer",
    "TestModel",
    "TranscriptionRequest",
    "VllmValidator",
]
