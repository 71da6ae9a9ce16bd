"""voxagent: voice agents on Mistral's audio-native Voxtral models.

Speech goes straight into Voxtral; the model answers or calls typed Python tools; voxagent validates
the arguments, runs the tools and keeps the multi-turn conversation valid.

The heavy parts (httpx, numpy, mistral_common) load on first use, so `import voxagent` stays fast.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# A library does not print: without this, Python's last-resort handler writes voxagent's warnings
# (a tool timed out, a caption stream failed) and their tracebacks to the embedding program's
# stderr. Applications see them once they configure logging; the CLI does.
logging.getLogger("voxagent").addHandler(logging.NullHandler())

# name -> module that defines it; resolved lazily by __getattr__ below.
_EXPORTS: dict[str, str] = {
    "Agent": "voxagent.agent",
    "TurnResult": "voxagent.agent",
    "RunContext": "voxagent.tools",
    "Tool": "voxagent.tools",
    "ToolResult": "voxagent.tools",
    "tool": "voxagent.tools",
    "ToolError": "voxagent.errors",
    "VoxagentError": "voxagent.errors",
}

__all__ = [
    "Agent",
    "RunContext",
    "Tool",
    "ToolError",
    "ToolResult",
    "TurnResult",
    "VoxagentError",
    "__version__",
    "tool",
]

if TYPE_CHECKING:
    from voxagent.agent import Agent, TurnResult
    from voxagent.errors import ToolError, VoxagentError
    from voxagent.tools import RunContext, Tool, ToolResult, tool


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'voxagent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
