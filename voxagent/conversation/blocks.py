"""The history cut into blocks, kept up to date turn by turn instead of re-split per request.

A block is a user turn with the assistant turns that follow it (a block without a user turn holds
assistant turns added before the first user turn). Blocks are what compaction drops, so a tool
call never loses its result. Tool results are kept apart, by stored call id: a request places
each one right after the assistant message that made the call, whenever it was added.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from voxagent.conversation.turns import AssistantTurn, ToolResultTurn, Turn, UserTurn

__all__ = ["Block", "Blocks"]


@dataclass(frozen=True, slots=True)
class Block:
    """A user turn (None before the first one) and the assistant turns that answered it."""

    user: UserTurn | None
    assistants: tuple[AssistantTurn, ...] = ()


class Blocks:
    """The blocks and tool results of one history, updated as turns are added or replaced.

    A block is replaced by a new object whenever it or a result of one of its calls changes,
    so a block object that is still in `blocks` stands for the same messages.
    """

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.results: dict[str, ToolResultTurn] = {}
        self._where: dict[str, int] = {}  # user turn uid -> its block's index
        self._calls: dict[str, int] = {}  # stored call id -> the index of the block with it

    def add(self, turn: Turn) -> None:
        """Take the next turn of the history."""
        if isinstance(turn, UserTurn):
            self._where[turn.uid] = len(self.blocks)
            self.blocks.append(Block(turn))
        elif isinstance(turn, AssistantTurn):
            if not self.blocks:
                self.blocks.append(Block(None))
            last = self.blocks[-1]
            self.blocks[-1] = dataclasses.replace(last, assistants=(*last.assistants, turn))
            self._calls.update((call.id, len(self.blocks) - 1) for call in turn.tool_calls)
        else:
            self.results[turn.call_id] = turn
            index = self._calls.get(turn.call_id)
            if index is not None:
                # A new block object: what is derived from a block (its cost) is found again by
                # identity, and the block's cost includes its calls' results.
                self.blocks[index] = dataclasses.replace(self.blocks[index])

    def replace_user(self, turn: UserTurn) -> None:
        """Put `turn` in place of the user turn with the same uid (a transcript arrived)."""
        index = self._where[turn.uid]
        self.blocks[index] = dataclasses.replace(self.blocks[index], user=turn)
