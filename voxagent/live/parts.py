"""The pieces a listen session is made of: its host, its options, its queue and event stream."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from voxagent.clock import Clock
from voxagent.events import Event

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from voxagent.approval import Approval
    from voxagent.audio import EndpointerSettings, TurnDetector, TurnPolicy, Utterance
    from voxagent.audio.clip import AudioClip
    from voxagent.interfaces import LiveTranscriber
    from voxagent.live.captions import PendingTranscript
    from voxagent.loop.speculation import ReadOnlyResults, Speculation
    from voxagent.loop.state import TurnInput
    from voxagent.results import TurnResult

__all__ = ["Emit", "ListenOptions", "Queued", "TurnHost", "event_stream", "is_live"]

Emit = Callable[[Event], Awaitable[None]]


def event_stream() -> tuple[MemoryObjectSendStream[Event], MemoryObjectReceiveStream[Event]]:
    """The stream between a listen session and its consumer (unbounded: sending never waits)."""
    return anyio.create_memory_object_stream[Event](max_buffer_size=math.inf)


def is_live(source: Any) -> bool:
    """Whether a source is a person speaking now (a microphone, a file paced in real time).

    A source may say so with a boolean `live` attribute; otherwise one with a `realtime`
    attribute (files, arrays) is live only when paced in real time; anything else is live.
    """
    live = getattr(source, "live", None)
    if isinstance(live, bool):
        return live
    realtime = getattr(source, "realtime", None)
    if isinstance(realtime, bool):
        return realtime
    return True


class TurnHost(Protocol):
    """What a listen session needs from its agent."""

    def new_turn_id(self) -> int:
        """A fresh turn id."""
        ...

    async def run_turn(
        self, user: TurnInput, emit: Emit, *, turn_id: int, voice: Approval | None
    ) -> TurnResult:
        """Run one turn through the agent's single turn runner (lock, loop, speaker)."""
        ...

    async def classify_reply(self, question: str, clip: AudioClip) -> bool:
        """Whether a spoken reply to `question` means yes."""
        ...

    def read_only(self, tool: str) -> bool:
        """Whether `tool` is declared free of side effects (`@tool(read_only=True)`)."""
        ...

    def restore(self, clip: AudioClip, transcript: str | None) -> None:
        """Record a turn taken back again, as a user turn (its continuation never came)."""
        ...

    def withdraw(self, clip: AudioClip) -> bool:
        """Take back the turn recorded with `clip` and what followed it (its answer, its tool
        rounds), when it is the conversation's latest user turn and no turn is running.

        Returns:
            Whether the conversation no longer holds it (True too when it was never recorded).
        """
        ...

    def speculate(
        self, clip: AudioClip, *, at: float, results: ReadOnlyResults, tools: TaskGroup
    ) -> Speculation | None:
        """The request a turn with this clip would send now, ready to run; None when it cannot
        be prepared (a turn is running, the clip does not fit): the confirmed turn then sends
        its own request as usual."""
        ...


@dataclass(frozen=True, slots=True)
class ListenOptions:
    """The agent's settings a listen session uses."""

    endpointing: EndpointerSettings | None = None
    barge_in: Literal["cancel", "queue"] = "cancel"
    confirm_timeout: float = 30.0
    clock: Clock = anyio.current_time
    speaker: Callable[[str], Awaitable[None]] | None = None
    live_transcriber: LiveTranscriber | None = None
    speculate: bool = True
    turn_detector: TurnDetector | Literal["auto"] | None = "auto"
    turn_policy: TurnPolicy | None = None


@dataclass(frozen=True, slots=True)
class Queued:
    """An utterance waiting for its turn, with its live transcript when captions are on, the
    speculation (with its encoded clip) already sent for it, and whether it continues a turn
    taken back (`voxagent.live.continuation`)."""

    utterance: Utterance
    at: float
    transcript: PendingTranscript | None = None
    speculation: Speculation | None = None
    clip: AudioClip | None = None
    continues: bool = False
