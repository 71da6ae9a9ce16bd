"""Tools: typed Python functions the model can call, validated with pydantic.

```python
from voxagent.tools import RunContext, tool

@tool(timeout=10)
async def set_light(ctx: RunContext[Home], room: Literal["kitchen", "bedroom"], on: bool) -> str:
    '''Switch a light on or off.

    Args:
        room: Which room's light.
        on: True to switch on.
    '''
```
"""

from __future__ import annotations

from voxagent.errors import ToolDefinitionError, ToolError
from voxagent.tools.arguments import ToolArgumentsError
from voxagent.tools.context import RunContext
from voxagent.tools.decorator import tool
from voxagent.tools.definition import TOOL_NAME_PATTERN, Tool, ToolFunction, check_tool_name
from voxagent.tools.registry import ToolRegistry
from voxagent.tools.result import (
    DEFAULT_MAX_RESULT_CHARS,
    ERROR_KINDS,
    ToolResult,
    serialise_result,
    truncate,
)

__all__ = [
    "DEFAULT_MAX_RESULT_CHARS",
    "ERROR_KINDS",
    "TOOL_NAME_PATTERN",
    "RunContext",
    "Tool",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "ToolError",
    "ToolFunction",
    "ToolRegistry",
    "ToolResult",
    "check_tool_name",
    "serialise_result",
    "tool",
    "truncate",
]
