"""The construction-time check that an agent's `deps` is what its tools' `RunContext[X]` expect.

`mypy --strict` already refuses `Agent(deps=B(), tools=[tool_for_A])` (`Tool[A]` is not a
`Tool[B]`); this check covers what the type checker cannot see: untyped code, plain functions
wrapped by the agent, tools added later with `agent.tool`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar, get_origin

from voxagent.errors import ConfigurationError
from voxagent.tools.definition import Tool

__all__ = ["check_deps"]


def _runtime_class(annotation: Any) -> type | None:
    """The class `isinstance` can check for a deps annotation, or None.

    Any, TypeVars, unions, protocols and other typing forms stay the type checker's business.
    """
    if annotation is None or annotation is Any or isinstance(annotation, TypeVar):
        return None
    origin = get_origin(annotation)
    candidate = origin if isinstance(origin, type) else annotation
    if not isinstance(candidate, type):
        return None
    if getattr(candidate, "_is_protocol", False):
        return None
    return candidate


def _name(kind: type) -> str:
    return (
        kind.__qualname__
        if kind.__module__ in ("builtins", "__main__")
        else (f"{kind.__module__}.{kind.__qualname__}")
    )


def check_deps(tools: Iterable[Tool[Any]], deps: Any) -> None:
    """Refuse tools whose `RunContext[X]` cannot receive `deps`.

    Args:
        tools: The agent's tools.
        deps: The agent's deps; None is not checked (deps may be set later, before a turn).

    Raises:
        ConfigurationError: Naming the tool, the type it expects and the type it would get.
    """
    if deps is None:
        return
    for item in tools:
        expected = _runtime_class(item.signature.context_type)
        if expected is None or isinstance(deps, expected):
            continue
        raise ConfigurationError(
            f"tool {item.name!r} takes RunContext[{_name(expected)}], but the agent's deps is "
            f"a {_name(type(deps))}",
            hint=f"pass deps={expected.__qualname__}(...) to the Agent, or type the tool's "
            f"context as RunContext[{type(deps).__qualname__}]",
        )
