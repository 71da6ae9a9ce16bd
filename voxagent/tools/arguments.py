"""Parse and validate the arguments a model sent, and explain what was wrong in words for it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from voxagent.errors import ToolError
from voxagent.jsonsafe import JSONLimitError, loads_bounded

__all__ = ["ToolArgumentsError", "parse_arguments", "validate_arguments"]

_MAX_PROBLEMS = 8
_MAX_SHOWN = 60
# pydantic's message openings, reworded so each problem reads "field: must ...".
_REWORDS = (
    ("Input should ", "must "),
    ("String should ", "must "),
    ("List should ", "must "),
    ("Tuple should ", "must "),
    ("Set should ", "must "),
    ("Dictionary should ", "must "),
    ("Value should ", "must "),
    ("Decimal input should ", "must "),
    ("Value error, ", ""),
    ("Assertion failed, ", ""),
)
_COMPARISONS = {
    "less_than_equal": ("<=", "le"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "greater_than": (">", "gt"),
}


class ToolArgumentsError(ToolError):
    """The model's arguments for a tool are not valid JSON or do not match its parameters.

    `str(error)` is the concise message for the model, naming each field and what was wrong.

    Attributes:
        tool_name: The tool the arguments were for.
        kind: "invalid_json" or "invalid_arguments" (the matching `ToolResult.error_kind`).
        problems: One "field: what was wrong" line per problem (empty for invalid JSON).
    """

    def __init__(
        self, message: str, *, tool_name: str, kind: str, problems: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.kind = kind
        self.problems = tuple(problems)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else f"{text[: _MAX_SHOWN - 3]}..."


def parse_arguments(arguments: str | Mapping[str, Any] | None, tool_name: str) -> dict[str, Any]:
    """Turn the model's raw arguments into a dict.

    Accepts a JSON object as text or an already parsed mapping. "", whitespace, "null" and None
    mean no arguments (models send these for tools without parameters), and a JSON string that
    itself contains a JSON object (double encoding, another common slip) is unwrapped.

    Args:
        arguments: What the model sent.
        tool_name: For the error message.

    Returns:
        The arguments by name.

    Raises:
        ToolArgumentsError: Invalid JSON, including JSON nested deeper or larger than
            `voxagent.jsonsafe.loads_bounded` accepts (kind "invalid_json"), or JSON that is not
            an object (kind "invalid_arguments").
    """
    value: Any = arguments
    if isinstance(value, str):
        text = value.strip()
        value = None
        if text:
            try:
                # Bounded: a model can emit "[" * 50000, which json.loads recurses on.
                value = loads_bounded(text)
                if isinstance(value, str) and value.strip().startswith("{"):
                    value = loads_bounded(value)
            except ValueError as exc:
                if isinstance(exc, json.JSONDecodeError):
                    where = f"{exc.msg} at character {exc.pos}"
                elif isinstance(exc, JSONLimitError):
                    where = str(exc)
                else:
                    where = type(exc).__name__
                raise ToolArgumentsError(
                    f"Invalid arguments for {tool_name}: not valid JSON ({where});"
                    " send the arguments as one JSON object",
                    tool_name=tool_name,
                    kind="invalid_json",
                ) from exc
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    kind = type(value).__name__
    raise ToolArgumentsError(
        f"Invalid arguments for {tool_name}: expected a JSON object of named arguments, got {kind}"
        f" {_shown(value)}",
        tool_name=tool_name,
        kind="invalid_arguments",
        problems=[f"arguments: must be a JSON object (got {_shown(value)})"],
    )


def _path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "arguments"


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required but missing"
    if kind in _COMPARISONS and _COMPARISONS[kind][1] in ctx:
        op, key = _COMPARISONS[kind]
        text = f"must be {op} {ctx[key]}"
    elif kind in ("literal_error", "enum") and "expected" in ctx:
        text = "must be one of " + ", ".join(str(ctx["expected"]).rsplit(" or ", 1))
    else:
        text = str(error["msg"])
        for prefix, replacement in _REWORDS:
            if text.startswith(prefix):
                text = replacement + text[len(prefix) :]
                break
    if "input" in error:
        text += f" (got {_shown(error['input'])})"
    return text


def _explain(exc: ValidationError, tool_name: str, expected: Sequence[str]) -> ToolArgumentsError:
    problems: list[str] = []
    unexpected: list[str] = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if error["type"] == "extra_forbidden" and len(loc) == 1:
            unexpected.append(repr(loc[0]))
            continue
        if error["type"] == "extra_forbidden":
            problems.append(f"{_path(loc)}: unexpected field")
            continue
        problems.append(f"{_path(loc)}: {_describe(error)}")
    if unexpected:
        noun = "argument" if len(unexpected) == 1 else "arguments"
        known = ", ".join(expected) if expected else "none; send {}"
        problems.append(f"unexpected {noun} {', '.join(unexpected)} (accepted: {known})")
    shown = problems[:_MAX_PROBLEMS]
    if len(problems) > _MAX_PROBLEMS:
        shown.append(f"and {len(problems) - _MAX_PROBLEMS} more problems")
    return ToolArgumentsError(
        f"Invalid arguments for {tool_name}: " + "; ".join(shown),
        tool_name=tool_name,
        kind="invalid_arguments",
        problems=problems,
    )


def validate_arguments(
    model: type[BaseModel],
    fields: Mapping[str, str],
    arguments: str | Mapping[str, Any] | None,
    tool_name: str,
) -> dict[str, Any]:
    """Parse and validate arguments against a tool's argument model.

    Args:
        model: The argument model (`ToolSignature.model`).
        fields: Parameter name -> model field name (`ToolSignature.fields`).
        arguments: What the model sent.
        tool_name: For error messages.

    Returns:
        Validated Python values by parameter name, defaults filled in; pydantic model,
        dataclass and enum parameters receive instances.

    Raises:
        ToolArgumentsError: With a message for the model naming each problem.
    """
    raw = parse_arguments(arguments, tool_name)
    try:
        instance = model.model_validate(raw)
    except ValidationError as exc:
        raise _explain(exc, tool_name, list(fields)) from exc
    except Exception as exc:
        # A user-written validator raised something pydantic does not convert (KeyError, ...).
        raise ToolArgumentsError(
            f"Invalid arguments for {tool_name}: {type(exc).__name__}: {exc}",
            tool_name=tool_name,
            kind="invalid_arguments",
            problems=[f"{type(exc).__name__}: {exc}"],
        ) from exc
    return {name: getattr(instance, field) for name, field in fields.items()}
