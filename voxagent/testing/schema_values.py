"""Example values that satisfy a JSON schema (the subset pydantic writes for tool parameters).

`TestModel` calls each tool with them; they are built deterministically: a default when the
schema gives one, else the first enum member or `const`, else the smallest value the bounds
allow (strings of `minLength` letters, numbers at their minimum, `minItems` array items, every
required property of an object).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["example_arguments", "example_value"]

# A schema that refers to itself (a tree of nodes) stops being expanded this deep.
_MAX_DEPTH = 8
_FORMATS = {
    "date": "2026-01-01",
    "date-time": "2026-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def example_arguments(parameters: dict[str, Any]) -> dict[str, Any]:
    """Arguments for a tool whose `parameters` schema is given (an object schema)."""
    value = example_value(parameters, parameters)
    return value if isinstance(value, dict) else {}


def example_value(schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """A value valid for `schema`; `root` resolves `$ref`s ("#/$defs/Name")."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        return example_value(_resolve(schema["$ref"], root), root, depth + 1)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            # Prefer a real value over null (Optional[X] is anyOf [X, null]).
            ordered = sorted(options, key=lambda o: isinstance(o, dict) and o.get("type") == "null")
            return example_value(ordered[0], root, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part["$ref"], root) if "$ref" in part else part)
        return example_value(merged, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    return _typed(kind, schema, root, depth)


def _typed(kind: str, schema: dict[str, Any], root: dict[str, Any], depth: int) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        required = schema.get("required") or []
        return {
            name: example_value(properties.get(name, {}), root, depth + 1)
            for name in required
            if isinstance(name, str)
        }
    if kind == "array":
        count = int(schema.get("minItems") or 0)
        items = schema.get("items") or {}
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list):
            return [example_value(item, root, depth + 1) for item in prefix]
        return [example_value(items, root, depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(_number(schema, integer=True))
    if kind == "number":
        return _number(schema, integer=False)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    form = schema.get("format")
    if isinstance(form, str) and form in _FORMATS:
        return _FORMATS[form]
    length = int(schema.get("minLength") or 1)
    return "a" * max(1, min(length, int(schema.get("maxLength") or length)))


def _number(schema: dict[str, Any], *, integer: bool) -> float:
    low = schema.get("minimum")
    exclusive = schema.get("exclusiveMinimum")
    high = schema.get("maximum")
    step = 1 if integer else 0.5
    if isinstance(exclusive, int | float):
        value = math.floor(exclusive) + 1 if integer else exclusive + step
    elif isinstance(low, int | float):
        value = math.ceil(low) if integer else low
    elif isinstance(high, int | float):
        value = min(0, math.floor(high)) if integer else min(0.0, high)
    else:
        value = 1 if integer else 1.0
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and multiple > 0:
        value = math.ceil(value / multiple) * multiple
    return value


def _resolve(ref: Any, root: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}
