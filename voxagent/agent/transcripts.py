"""Transcripts fetched ahead: voice messages compaction will soon replace by their text.

Once per turn the agent asks which older audio turns the next compactions will need as text,
and transcribes them in its background task group while the model works. The transcripts are
used by later requests, never waited for: whatever fails here is a log line, and the turn is
compacted to a placeholder instead.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from voxagent.errors import ModelError, VoxagentError
from voxagent.interfaces import Transcriber

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from voxagent.conversation import Budget, Conversation
    from voxagent.interfaces import ChatModel
    from voxagent.tools import ToolRegistry

__all__ = ["TranscriptPrefetch", "open_transcriber"]

logger = logging.getLogger("voxagent.agent")


async def open_transcriber(
    stack: contextlib.AsyncExitStack,
    configured: Transcriber | None,
    client: ChatModel,
    given_model: ChatModel | None,
) -> Transcriber | None:
    """Who transcribes for compaction: `VoiceSettings.transcriber`, else the model if it can.

    The configured one is entered on `stack` (left when the agent stops) when it is an async
    context manager, unless it is the model object the user gave, which stays theirs (the
    agent never opens or closes that). A `ModelClient` counts its entries, so one the user
    opened already is not closed by the agent.
    """
    if configured is None:
        return client if isinstance(client, Transcriber) else None
    given: object = configured  # a transcriber may be a chat model too (a ModelClient)
    owned = given is not given_model and given is not client
    if owned and isinstance(configured, contextlib.AbstractAsyncContextManager):
        await stack.enter_async_context(configured)
    return configured


class TranscriptPrefetch:
    """Transcribes, in the background, the audio turns compaction will need as text.

    Args:
        transcriber: Who transcribes (`VoiceSettings.transcriber`, else the agent's model).
        conversation: The conversation whose turns get their transcripts.
        budget: The request budget compaction works to.
        registry: The agent's tools (their schemas take room in the budget).
        group: The agent's background task group (its tasks never fail).
    """

    def __init__(
        self,
        transcriber: Transcriber,
        conversation: Conversation,
        budget: Budget,
        registry: ToolRegistry,
        group: TaskGroup,
    ) -> None:
        self.transcriber = transcriber
        self.conversation = conversation
        self.budget = budget
        self.registry = registry
        self.group = group
        self._running: set[str] = set()  # uids of user turns being transcribed
        self._refused: set[str] = set()  # uids the server refused to transcribe

    def start(self) -> None:
        """Start transcribing the turns that need it and are not being (or refused) already."""
        specs = self.registry.to_openai() or None
        for turn in self.conversation.audio_to_transcribe(self.budget, tools=specs):
            if turn.audio is None or turn.uid in self._running | self._refused:
                continue
            self._running.add(turn.uid)
            self.group.start_soon(self._transcribe, turn)

    async def _transcribe(self, turn: Any) -> None:
        try:
            # Speech runs at about 3 tokens a second; leave room, but never let junk run long.
            budget = max(64, min(int(turn.audio.duration_s * 8), 1 << 20))
            text = await self.transcriber.transcribe(turn.audio, max_completion_tokens=budget)
            self.conversation.set_transcript(turn, text)
        except VoxagentError as exc:
            # Compaction falls back to a placeholder; the conversation stays valid. A refusal
            # (4xx: too long, bad audio) would be refused again: never upload that clip again.
            if isinstance(exc, ModelError) and (exc.status_code or 0) // 100 == 4:
                self._refused.add(turn.uid)
            logger.warning("could not transcribe an earlier voice message: %s", exc.message)
        except Exception as exc:
            self._refused.add(turn.uid)
            logger.error("transcribing an earlier voice message failed: %s", exc, exc_info=exc)
        finally:
            self._running.discard(turn.uid)
