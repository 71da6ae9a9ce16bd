"""A turn taken back when the user goes on speaking before the agent has done anything.

A barge-in cancels the running turn. When that turn had not yet reached the user or the world
(no text shown or spoken, no tool with side effects started, no question asked), nothing the
user noticed is lost by taking it back, and what it was about to answer was half an utterance:
an end decided too early (a pause inside a sentence) or an afterthought ("turn on the light ...
in the kitchen"). So the session withdraws the turn from the conversation and carries its
utterance into the next one, joined (`join_utterances`): the model hears the whole of it as one
turn, once, and no audio the user said is dropped, whatever point the turn had reached.

A turn that had acted keeps today's barge-in: it stays in the conversation as it was cut, and
the new speech is a turn of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import anyio

from voxagent.events import (
    Event,
    SpeculationDiscarded,
    SpeculationStarted,
    ToolCallFinished,
    ToolCallStarted,
    TranscriptDelta,
    TranscriptFinal,
    TurnStarted,
)
from voxagent.live.captions import PendingTranscript
from voxagent.live.parts import Emit, Queued

if TYPE_CHECKING:
    from voxagent.audio import Utterance
    from voxagent.audio.clip import AudioClip

__all__ = ["SETTLE_S", "Carry", "TurnWatch"]

logger = logging.getLogger("voxagent.listen")

# How long the next utterance waits for a cancelled turn to finish unwinding before it is taken
# as a turn of its own (a cancelled turn stops in milliseconds; this bounds a stuck one).
SETTLE_S = 1.0

# What a turn may emit without having reached the user or the world: its start, the fate of a
# speculative request, the user's own captions, and the end of tool calls (one that started is
# judged by its start; one that never ran only reports that it was cancelled).
_UNNOTICED = (
    TurnStarted,
    SpeculationStarted,
    SpeculationDiscarded,
    TranscriptDelta,
    TranscriptFinal,
    ToolCallFinished,
)


class TurnWatch:
    """The emit of one running turn, noting whether the turn has acted yet.

    Args:
        emit: Where the turn's events go.
        read_only: Whether a tool is declared free of side effects (it may be taken back).
    """

    def __init__(self, emit: Emit, read_only: Callable[[str], bool]) -> None:
        self._emit = emit
        self._read_only = read_only
        self.acted = False
        self.clip: AudioClip | None = None  # the clip the turn was recorded with

    async def emit(self, event: Event) -> None:
        """Pass `event` on, noting whether it shows the turn has acted."""
        if not self.acted:
            if isinstance(event, ToolCallStarted):
                self.acted = not self._read_only(event.name)
            else:
                self.acted = not isinstance(event, _UNNOTICED)
        await self._emit(event)


class Carry:
    """The utterance of a turn taken back, until the next utterance continues it.

    Args:
        max_s: The longest utterance carried (longer ones stay turns of their own, so that
            joined audio stays within what one turn may hold).
    """

    def __init__(self, max_s: float) -> None:
        self.max_s = max_s
        self.utterance: Utterance | None = None
        self.transcript: PendingTranscript | None = None
        # A turn taken back whose continuation has not started: recorded again if
        # listening ends first (`repay`), so what the user said is never lost.
        self.owed: Queued | None = None
        self._settling: anyio.Event | None = None

    def barged_in(self) -> None:
        """A barge-in cancelled the running turn: the next utterance waits for its outcome."""
        self._settling = anyio.Event()

    @property
    def unsettled(self) -> bool:
        """Whether a cancelled turn's outcome is still unknown."""
        return self._settling is not None and not self._settling.is_set()

    def wants(self, utterance: Utterance) -> bool:
        """Whether `utterance` would be carried: the next utterance still waits for the
        cancelled turn's outcome, and it is short enough."""
        return self._settling is not None and utterance.duration <= self.max_s

    def settle(self, utterance: Utterance | None, transcript: PendingTranscript | None) -> None:
        """The cancelled turn has stopped: carry `utterance` (None: nothing to carry)."""
        if utterance is not None and self.wants(utterance):
            self.utterance, self.transcript = utterance, transcript
        if self._settling is not None:
            self._settling.set()
            self._settling = None

    def take_back(
        self,
        queued: Queued,
        watch: TurnWatch,
        *,
        others_waiting: bool,
        withdraw: Callable[[AudioClip], bool],
    ) -> bool:
        """After a barge-in cancelled `queued`'s turn: withdraw it from the conversation and carry
        its utterance on, when the turn had not acted and nothing else waits to be answered.

        Returns:
            Whether it was taken back (`TurnCancelled.continued`).
        """
        carried = not watch.acted and not others_waiting and self.wants(queued.utterance)
        if carried and watch.clip is not None:
            try:
                carried = withdraw(watch.clip)
            except Exception as exc:  # a bug must not end listening: the turn stays as cut
                logger.error("could not take back a cancelled turn: %s", exc, exc_info=exc)
                carried = False
        self.settle(queued.utterance if carried else None, queued.transcript)
        if carried:
            # The clip it was recorded with (a cancel before it was made: encoded if needed).
            self.owed = replace(queued, clip=watch.clip or queued.clip)
        return carried

    def repay(self, restore: Callable[[AudioClip, str | None], None]) -> None:
        """Listening has ended: record again a turn taken back whose continuation never ran."""
        if self.owed is not None:
            owed, self.owed = self.owed, None
            try:
                clip = owed.clip or owed.utterance.to_clip()  # milliseconds, once, at the end
                restore(clip, owed.transcript.text if owed.transcript is not None else None)
            except Exception as exc:  # listening is over: say what was lost, raise nothing new
                logger.error("a turn taken back could not be recorded again: %s", exc, exc_info=exc)

    def joined(self, utterance: Utterance) -> Utterance:
        """`utterance` continued from what is carried (the carry is kept)."""
        from voxagent.audio import join_utterances  # lazy: numpy loads when listening starts

        if self.utterance is None:
            return utterance
        return join_utterances(self.utterance, utterance)

    async def take(
        self, utterance: Utterance, transcript: PendingTranscript | None
    ) -> tuple[Utterance, PendingTranscript | None, bool]:
        """The turn `utterance` makes: joined to what is carried, which is then used up.

        Returns:
            The utterance, its live transcript, and whether it continues a carried one.
        """
        if self._settling is not None:
            with anyio.move_on_after(SETTLE_S):
                await self._settling.wait()
            self._settling = None
        if self.utterance is None:
            return utterance, transcript, False
        joined = self.joined(utterance)
        pending = PendingTranscript.joined(self.transcript, transcript)
        self.utterance = self.transcript = None
        return joined, pending, True
