"""`voxagent web`: the browser demo of an agent, microphone and all (docs/web.md).

One page and one websocket per visitor; each visitor gets an agent of their own, listening to
the audio their browser sends through a `WebSocketSource`. The server needs the `web` extra
(`pip install 'voxagent-voxtral[web] @ git+https://github.com/voxagent/voxagent'`);
`WebSocketSource` needs only numpy. Names load on first use, so the `voxagent` command can
register `web` without importing any of it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "MAX_FRAME_BYTES": "voxagent.web.source",
    "WebSocketSource": "voxagent.web.source",
    "create_app": "voxagent.web.app",
    "VisitorAgents": "voxagent.web.agents",
    "AgentOverrides": "voxagent.web.agents",
}

__all__ = ["MAX_FRAME_BYTES", "AgentOverrides", "VisitorAgents", "WebSocketSource", "create_app"]

if TYPE_CHECKING:
    from voxagent.web.agents import AgentOverrides, VisitorAgents
    from voxagent.web.app import create_app
    from voxagent.web.source import MAX_FRAME_BYTES, WebSocketSource


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'voxagent.web' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
