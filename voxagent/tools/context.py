"""`RunContext`: what a tool may receive from the agent besides the model's arguments."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["RunContext"]

DepsT = TypeVar("DepsT")

_TOOLS_LOGGER = logging.getLogger("voxagent.tools")


@dataclass
class RunContext(Generic[DepsT]):
    """The agent's context, injected into a tool whose first parameter is annotated with it.

    It stays deliberately small; put your own state (database handles, device clients) in `deps`.

    Example:
        >>> @tool
        ... def lights_on(ctx: RunContext[Home], room: str) -> str:
        ...     return ctx.deps.switch(room, on=True)

    Attributes:
        deps: The dependencies given to the agent (`Agent(deps=...)`), typed by the tool.
        conversation: The agent's conversation so far (a `voxagent.conversation.Conversation`).
        audio: The current turn's audio (`voxagent.audio.AudioClip`), or None for a text turn.
        logger: Where the tool should log; failures of the tool itself are logged here too.
    """

    deps: DepsT
    # Typed Any: importing the conversation and audio modules here would create an import cycle
    # and load numpy for every tool user.
    conversation: Any = None
    audio: Any = None
    logger: logging.Logger = field(default_factory=lambda: _TOOLS_LOGGER)
