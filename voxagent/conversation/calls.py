"""`CallIds`: the tool-call ids of one conversation, which are taken and which have a result.

Voxtral accepts only ids of 9 characters of `[a-zA-Z0-9]`, unique within a request; servers may
send any id, and reuse one. The conversation stores a valid unique id for every call (repairing
the server's when needed) and resolves the id a result comes back with to the stored one.
"""

from __future__ import annotations

from collections.abc import Sequence

from voxagent.client.types import ToolCall
from voxagent.conversation.turns import (
    AssistantTurn,
    ToolResultTurn,
    Turn,
    is_valid_call_id,
    new_call_id,
)
from voxagent.errors import ConversationError

__all__ = ["CallIds"]

_CORRUPT_HINT = "The file was edited or corrupted; restore it from a backup."


class CallIds:
    """Which tool-call ids a conversation has stored, and which of them have a result."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._answered: set[str] = set()

    def store(self, server_id: str) -> str:
        """The id to store for a call the server sent as `server_id` (kept when valid, unused)."""
        call_id = server_id
        if not is_valid_call_id(call_id) or call_id in self._taken:
            call_id = new_call_id(self._taken)
        self._taken.add(call_id)
        return call_id

    def resolve(self, call_id: str, turns: Sequence[Turn]) -> str:
        """The stored id `call_id` (a server's id or a stored one) names in `turns`.

        Raises:
            ConversationError: No call in `turns` has this id.
        """
        # Newest calls first, and an unanswered match before an answered one: servers may reuse
        # ids, and a repaired id's server id can equal another call's stored id.
        candidates: list[str] = []
        for turn in reversed(turns):
            if isinstance(turn, AssistantTurn):
                candidates += [call.id for call in turn.tool_calls if call.id == call_id]
                if call_id in turn.id_map:
                    candidates.append(turn.id_map[call_id])
        if not candidates:
            raise ConversationError(
                f"No tool call with id {call_id!r} in this conversation",
                hint="Use the ids of the calls returned by add_assistant.",
            )
        return next((c for c in candidates if c not in self._answered), candidates[0])

    def answer(self, stored_id: str, asked: str) -> None:
        """Note that the call `stored_id` (asked for as `asked`) has its result now.

        Raises:
            ConversationError: It already has one.
        """
        if stored_id in self._answered:
            raise ConversationError(
                f"Tool call {asked!r} already has a result",
                hint="Add exactly one result per tool call.",
            )
        self._answered.add(stored_id)

    def pending(self, turn: AssistantTurn) -> list[ToolCall]:
        """The calls of `turn` without a result."""
        return [call for call in turn.tool_calls if call.id not in self._answered]

    def replay(self, turn: Turn) -> None:
        """Take the ids of a stored turn, checking what `store` and `answer` guarantee.

        Raises:
            ConversationError: An id is invalid or taken twice, or a result answers no call
                made before it, or a call already answered.
        """
        if isinstance(turn, AssistantTurn):
            for call in turn.tool_calls:
                if not is_valid_call_id(call.id) or call.id in self._taken:
                    raise ConversationError(
                        f"Invalid or duplicate tool call id {call.id!r} in saved conversation",
                        hint=_CORRUPT_HINT,
                    )
                self._taken.add(call.id)
        elif isinstance(turn, ToolResultTurn):
            if turn.call_id not in self._taken or turn.call_id in self._answered:
                raise ConversationError(
                    f"Tool result for unknown or already answered call {turn.call_id!r}",
                    hint=_CORRUPT_HINT,
                )
            self._answered.add(turn.call_id)
