"""`voxagent web`: the browser demo of an agent, microphone and all (docs/web.md).

One page and one websocket per visitor; each visitor gets an agent of their own, listening to
the audio their browser sends through a `WebSocketSource`. The server needs the `web` extra
(`pip install 'voxagent-voxtral[web] @ git+https://github.com/voxagent/voxagent'`);
`WebSocketSource` needs only numpy. Names load on first use, so the `voxagent` command can
register `web` without importing any of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxagent._lazy import lazy_exports

# name -> the module that defines it (see voxagent._lazy).
_EXPORTS: dict[str, str] = {
    "AgentOverrides": "voxagent.web.agents",
    "VisitorAgents": "voxagent.web.agents",
    "create_app": "voxagent.web.app",
    "MAX_FRAME_BYTES": "voxagent.web.source",
    "WebSocketSource": "voxagent.web.source",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from voxagent.web.agents import (
        AgentOverrides as AgentOverrides,
        VisitorAgents as VisitorAgents,
    )
    from voxagent.web.app import (
        create_app as create_app,
    )
    from voxagent.web.source import (
        MAX_FRAME_BYTES as MAX_FRAME_BYTES,
        WebSocketSource as WebSocketSource,
    )
