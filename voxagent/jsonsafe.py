"""Parsing JSON that comes from outside (model output, servers, files) with bounded depth and size.

`json.loads` on `"[" * 50000` raises `RecursionError`, and a value nested a few hundred deep
parses but then breaks every later `json.dumps` or pydantic walk over it. Everything voxagent
parses from outside goes through `loads_bounded`, which turns both into `JSONLimitError`, a
`ValueError`, so callers that already handle malformed JSON handle these too.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_JSON_BYTES", "MAX_JSON_DEPTH", "JSONLimitError", "loads_bounded"]

# Tool arguments and chat answers nest a handful of levels; 64 leaves room for any real schema.
MAX_JSON_DEPTH = 64
# One JSON document from outside (a tool call's arguments, a saved turn's field).
MAX_JSON_BYTES = 16 * 1024 * 1024


class JSONLimitError(ValueError):
    """A JSON text nests deeper, or is larger, than voxagent accepts from outside."""


def loads_bounded(
    text: str | bytes,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    max_bytes: int = MAX_JSON_BYTES,
) -> Any:
    """Parse `text` as JSON, refusing documents that nest too deep or are too large.

    Args:
        text: The JSON text.
        max_depth: Deepest nesting of arrays and objects accepted.
        max_bytes: Largest text accepted (characters for `str`, bytes for `bytes`).

    Returns:
        The parsed value.

    Raises:
        JSONLimitError: Too deep or too large (a `ValueError`).
        ValueError: Not JSON (`json.JSONDecodeError`).
    """
    if len(text) > max_bytes:
        raise JSONLimitError(f"JSON text of {len(text)} bytes is over the {max_bytes}-byte limit")
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONLimitError(f"JSON nests deeper than {max_depth} levels") from None
    # Nesting needs an opening bracket per level: few brackets (every stream chunk, nearly every
    # tool call) cannot be too deep, and skip the walk.
    if isinstance(text, bytes):
        brackets = text.count(b"[") + text.count(b"{")
    else:
        brackets = text.count("[") + text.count("{")
    if brackets > max_depth and depth_of(value, max_depth) > max_depth:
        raise JSONLimitError(f"JSON nests deeper than {max_depth} levels")
    return value


def depth_of(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0); stops counting past `limit`.

    Iterative, so a value nested far beyond the recursion limit is measured without recursing.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children)
    return deepest
