"""`TestModel`: a fake chat model that calls every tool once with schema-valid arguments."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from voxagent.testing.models import FunctionModel
from voxagent.testing.records import ScriptedRequest
from voxagent.testing.replies import Reply
from voxagent.testing.schema_values import example_arguments

__all__ = ["TestModel"]


class TestModel(FunctionModel):
    """A chat model that calls every tool once, then says what they returned.

    The first request of a turn (the last message is the user's) calls each offered tool once,
    in one message, with arguments generated from its JSON schema (required fields, enums,
    bounds, nested objects); after the tool results it answers in text with them, as JSON. With
    no tools, or `tool_choice="none"`, it answers `text`. Useful to check that every tool of an
    agent can be called with what its schema allows.

    Args:
        text: The answer when no tool is called.
        call_tools: Names of the tools to call (None: all offered).
        **options: The options of `FunctionModel` (model, max_model_len, validate, ...).
    """

    def __init__(
        self,
        *,
        text: str = "success (no tool calls)",
        call_tools: Iterable[str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(self._respond, **options)
        self.text = text
        self.call_tools = None if call_tools is None else frozenset(call_tools)

    def _respond(self, request: ScriptedRequest) -> Reply:
        messages = request.get("messages") or []
        last = messages[-1] if messages else {}
        if isinstance(last, dict) and last.get("role") == "tool":
            results = {
                str(m.get("name") or m.get("tool_call_id")): m.get("content")
                for m in _trailing_results(messages)
            }
            return Reply.text(json.dumps(results, ensure_ascii=False, sort_keys=True))
        specs = [spec for spec in request.get("tools") or () if isinstance(spec, dict)]
        if request.get("tool_choice") == "none":
            specs = []
        calls: list[tuple[str, dict[str, Any]]] = []
        for spec in specs:
            function = spec.get("function") or {}
            name = function.get("name")
            if not isinstance(name, str):
                continue
            if self.call_tools is not None and name not in self.call_tools:
                continue
            calls.append((name, example_arguments(function.get("parameters") or {})))
        if not calls:
            return Reply.text(self.text)
        return Reply.tool_calls(*calls)


def _trailing_results(messages: list[Any]) -> list[dict[str, Any]]:
    """The tool messages at the end of the conversation (the results of the last calls)."""
    results: list[dict[str, Any]] = []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "tool":
            break
        results.append(message)
    return list(reversed(results))
