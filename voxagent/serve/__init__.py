"""The managed vLLM server: find vLLM, build its command line, start, watch and stop it.

Example:
    >>> async with VLLMServer("mistralai/Voxtral-Mini-3B-2507") as server:
    ...     print(server.base_url)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxagent._lazy import lazy_exports

# name -> the module that defines it (see voxagent._lazy).
_EXPORTS: dict[str, str] = {
    "find_vllm": "voxagent.serve.command",
    "vllm_command": "voxagent.serve.command",
    "VLLMServer": "voxagent.serve.server",
    "VLLMStartError": "voxagent.serve.server",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from voxagent.serve.command import find_vllm as find_vllm, vllm_command as vllm_command
    from voxagent.serve.server import VLLMServer as VLLMServer, VLLMStartError as VLLMStartError
