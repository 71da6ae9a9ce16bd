"""`ConversationSnapshot`: everything a conversation is saved as, and rebuilt from.

It sits between the conversation and its storage: `Conversation.snapshot()` takes one,
`voxagent.conversation.storage` writes it to JSON and reads it back, and
`Conversation.from_snapshot` rebuilds the conversation from it, checking the turns as the
`add_*` methods would have. Neither side needs the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxagent.conversation.turns import Turn

__all__ = ["ConversationSnapshot"]


@dataclass(frozen=True, slots=True)
class ConversationSnapshot:
    """A conversation's state at one moment, as stored.

    Attributes:
        instructions: The agent's instructions (system prompt), if any.
        session_key: The key for session affinity; None (a file from before keys existed)
            makes the rebuilt conversation a fresh one.
        turns: Every turn, oldest first.
        compacted: `(start, audio_from)` of the last request: the blocks it dropped and the
            audio it sent as text, which later requests keep so (None: nothing yet).
    """

    instructions: str | None
    session_key: str | None
    turns: tuple[Turn, ...]
    compacted: tuple[int, int] | None = None
