"""The state of one turn: its input, what it needs from its agent, and what each round produced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from voxagent.client.types import ChatResponse, ToolCall, Usage
from voxagent.clock import Clock
from voxagent.results import ToolCallRecord

if TYPE_CHECKING:
    from voxagent.approval import Approval
    from voxagent.audio.clip import AudioClip
    from voxagent.conversation import Budget, Conversation
    from voxagent.events import Event
    from voxagent.interfaces import ChatModel
    from voxagent.live.captions import PendingTranscript
    from voxagent.loop.speculation import ReadOnlyResults, Speculation
    from voxagent.settings import ModelSettings
    from voxagent.tools import ToolRegistry, ToolResult

__all__ = ["ChatRequest", "Emit", "TurnEnv", "TurnInput", "chat_request"]

Emit = Callable[["Event"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TurnInput:
    """One user turn as the loop receives it (audio already encoded for the model).

    Attributes:
        speculation: The request already sent for this input at a pause, if any; used when it
            is exactly the turn's first request, cancelled otherwise.
    """

    text: str | None = None
    clip: AudioClip | None = None
    transcript: str | None = None
    pending_transcript: PendingTranscript | None = None
    tool_choice: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    speculation: Speculation | None = None


@dataclass(slots=True)
class TurnEnv:
    """Everything a turn needs from its agent; built once per agent, shared by turns."""

    client: ChatModel
    conversation: Conversation
    registry: ToolRegistry
    settings: ModelSettings
    budget: Budget | None
    deps: Any
    approval: Approval
    max_tool_rounds: int = 8
    clock: Clock = anyio.current_time
    prefetch_transcripts: Callable[[], None] | None = None
    slow_tool_after: float | None = None
    slow_tool_notice: str = ""
    speaker: Callable[[str], Awaitable[None]] | None = None


@dataclass(slots=True)
class _Call:
    """A tool call dispatched during a round, and (once known) its result."""

    index: int
    call: ToolCall
    truncated: bool = False
    result: ToolResult | None = None
    started: bool = False
    sync_tool: bool = False


@dataclass(slots=True)
class _Round:
    """What one model request produced."""

    parts: list[str] = field(default_factory=list)  # streamed text, joined once (linear)
    calls: list[_Call] = field(default_factory=list)
    response: ChatResponse | None = None
    interrupt: BaseException | None = None  # KeyboardInterrupt/SystemExit a tool raised

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass(slots=True)
class _Stats:
    usage: Usage = field(default_factory=Usage)
    model_s: float = 0.0
    tools_s: float = 0.0
    first_token_s: float | None = None
    admission_s: float | None = None  # None: the model has no admission limit
    rounds: int = 0
    records: list[ToolCallRecord] = field(default_factory=list)
    # Results of read-only calls a speculation ran, for this turn's identical calls.
    reuse: ReadOnlyResults | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """Everything a chat request sends besides its messages (compared to reuse a speculation)."""

    tools: list[dict[str, Any]] | None
    settings: ModelSettings
    session: str | None

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of `ChatModel.chat` and `ChatModel.stream_chat`."""
        return {"tools": self.tools, "settings": self.settings, "session": self.session}


def chat_request(
    settings: ModelSettings,
    registry: ToolRegistry,
    conversation: Conversation,
    tool_choice: str | None = None,
) -> ChatRequest:
    """The request a round sends: the agent's tools and settings, the round's tool choice."""
    if tool_choice is not None and tool_choice != settings.tool_choice:
        settings = settings.replace(tool_choice=tool_choice)
    return ChatRequest(
        tools=registry.to_openai() or None,
        settings=settings,
        session=conversation.session_key,
    )
