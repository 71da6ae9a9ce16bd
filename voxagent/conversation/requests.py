"""`Requests`: what a conversation keeps to render its requests, and the renders themselves.

The conversation records turns and guarantees their rules; `Requests` follows it turn by turn
(the history as blocks, each turn's cost and texts in a `TurnCache`, and the compaction floor of
the last request), so that each request plans and renders only what is new since the last one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from voxagent.client.dialects import Dialect
from voxagent.conversation.blocks import Block, Blocks
from voxagent.conversation.budget import Budget, audio_tokens
from voxagent.conversation.cache import TurnCache
from voxagent.conversation.render import Plan, make_plan, render_plan
from voxagent.conversation.turns import Turn, UserTurn

__all__ = ["Requests"]

# to_transcribe looks this far ahead: two more spoken turns of up to 30 s, with replies.
_LOOKAHEAD_AUDIO = 2
_LOOKAHEAD_TOKENS = 2 * (audio_tokens(30.0) + 200)


class Requests:
    """The request state of one history: its blocks, its per-turn cache and its floor.

    Attributes:
        floor: `(start, audio_from)` of the last request `render` made: what stays compacted,
            so that the next request extends it.
    """

    def __init__(self) -> None:
        self.floor: tuple[int, int] = (0, 0)
        self._blocks = Blocks()
        self._cache = TurnCache()
        self._turns = 0

    def add(self, turn: Turn) -> None:
        """Follow the history: `turn` was added to it."""
        self._blocks.add(turn)
        self._turns += 1

    def replace_user(self, turn: UserTurn) -> None:
        """Follow the history: `turn` replaced the user turn with its uid."""
        self._blocks.replace_user(turn)

    def plan(
        self,
        instructions: str | None,
        budget: Budget,
        tools: list[dict[str, Any]] | None,
        *,
        extra: UserTurn | None = None,
        audio_slack: int = 0,
        token_slack: int = 0,
        strict: bool = True,
    ) -> Plan:
        """Plan a request of the history (plus `extra`, a user turn not added) from the floor.

        See `make_plan` for the arguments and errors.
        """
        blocks: Sequence[Block] = self._blocks.blocks
        if extra is not None:
            blocks = [*blocks, Block(extra)]
        plan = make_plan(
            blocks,
            self._blocks.results,
            instructions,
            budget,
            tools,
            cache=self._cache,
            audio_slack=audio_slack,
            token_slack=token_slack,
            strict=strict,
            floor=self.floor,
        )
        if len(self._cache) > 3 * self._turns + 64:
            self._forget_unknown()
        return plan

    def _forget_unknown(self) -> None:
        # Entries of turns that never joined the history (`extra`) or were replaced since.
        users = (block.user for block in self._blocks.blocks if block.user is not None)
        assistants = (turn for block in self._blocks.blocks for turn in block.assistants)
        self._cache.keep(itertools.chain(users, assistants))

    def render(
        self,
        instructions: str | None,
        dialect: Dialect,
        budget: Budget,
        tools: list[dict[str, Any]] | None,
        *,
        extra: UserTurn | None = None,
    ) -> list[dict[str, Any]]:
        """The request's messages; without `extra`, the floor moves to what this one compacted.

        With `extra` (a user turn not added), the request is the one the history would send
        after it, and nothing moves: the floor stays for the request of the confirmed turn.
        """
        plan = self.plan(instructions, budget, tools, extra=extra)
        messages = render_plan(plan, instructions, dialect, self._cache)
        if extra is None:
            self.floor = plan.floor
        return messages

    def to_transcribe(
        self, instructions: str | None, budget: Budget, tools: list[dict[str, Any]] | None
    ) -> list[UserTurn]:
        """Audio user turns without a transcript that compaction turns into text within a turn
        or two, among those the next request still sends (as audio or as text)."""
        if not any(block.user is not None for block in self._blocks.blocks):
            return []
        now = self.plan(instructions, budget, tools, strict=False)
        ahead = self.plan(
            instructions,
            budget,
            tools,
            audio_slack=_LOOKAHEAD_AUDIO,
            token_slack=_LOOKAHEAD_TOKENS,
            strict=False,
        )
        sent = {id(t) for t in now.compacted()} | {
            id(block.user) for block in now.blocks[now.start :] if block.user is not None
        }
        return [t for t in ahead.compacted() if t.transcript is None and id(t) in sent]
