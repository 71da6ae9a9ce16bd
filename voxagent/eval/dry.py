"""`--dry-tools`: every tool replaced by a recorder that answers a canned result.

The recorder keeps the tool's name, description, JSON Schema and argument validation (so the
model sees the same tools and invalid arguments are refused the same way), but its function only
records the validated values and returns the suite's canned text. The original function is never
called, so a suite can exercise `unlock_front_door` safely. Approval is skipped too: nothing a
recorder does needs a person's consent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from voxagent.tools import Tool, ToolRegistry

__all__ = ["DEFAULT_DRY_RESULT", "Recorder", "dry_registry"]

DEFAULT_DRY_RESULT = "Done."


@dataclass
class Recorder:
    """What the recorders were called with: (tool name, validated values), in call order."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _recording(name: str, result: str, recorder: Recorder) -> Any:
    async def record(**values: Any) -> str:
        recorder.calls.append((name, values))
        return result

    record.__name__ = name
    return record


def dry_registry(
    registry: ToolRegistry, results: dict[str, str], recorder: Recorder | None = None
) -> tuple[ToolRegistry, Recorder]:
    """A registry of recorders standing in for `registry`'s tools.

    Args:
        registry: The app's tools.
        results: Canned results by tool name; "*" for every other tool (default "Done.").
        recorder: Where calls are recorded (a new one when None).
    """
    recorder = recorder if recorder is not None else Recorder()
    fallback = results.get("*", DEFAULT_DRY_RESULT)
    stand_ins: list[Tool[Any]] = []
    for original in registry:
        stand_ins.append(
            dataclasses.replace(
                original,
                function=_recording(original.name, results.get(original.name, fallback), recorder),
                confirm=False,
                timeout=None,
                # The recorder takes no RunContext: it must see only the model's arguments.
                signature=dataclasses.replace(original.signature, context=None),
            )
        )
    return ToolRegistry(stand_ins, max_result_chars=registry.max_result_chars), recorder
