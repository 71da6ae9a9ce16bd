"""The live side of `Agent.listen`: capture, barge-in, queued turns and spoken confirmation.

One `ListenSession` per `listen` call holds the little state the live loop needs: whether a turn
is running (and its cancel scope, for barge-in), who waits for the user's spoken yes/no, and the
live-caption tap. Turns themselves still go through the one loop in `voxagent.turn`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from voxagent.approval import ApprovalRequest, resolve_policy
from voxagent.captions import CaptionTap, PendingTranscript
from voxagent.errors import VoxagentError
from voxagent.events import (
    AudioOverflow,
    ConfirmationRequested,
    ErrorEvent,
    Event,
    SpeechEnded,
    SpeechStarted,
    TurnCancelled,
)
from voxagent.turn import TurnInput, run_turn

if TYPE_CHECKING:
    from voxagent.agent import Agent
    from voxagent.audio import AudioSource, Utterance
    from voxagent.audio.clip import AudioClip
    from voxagent.conversation import Conversation
    from voxagent.model import ModelClient

__all__ = ["ListenSession", "Queued", "classify_yes_no"]


@dataclass(frozen=True, slots=True)
class Queued:
    """An utterance waiting for its turn, with its live transcript when captions are on."""

    utterance: Utterance
    at: float
    transcript: PendingTranscript | None = None


async def _attach_transcript(
    conversation: Conversation, clip: AudioClip, pending: PendingTranscript
) -> None:
    """Give the user turn carrying `clip` its live transcript once the transcriber has it."""
    from voxagent.conversation import UserTurn

    await pending.done.wait()
    if pending.text is None:
        return
    # run_turn recorded the user turn before this task first ran (it adds it before awaiting).
    for turn in reversed(conversation.turns):
        if isinstance(turn, UserTurn) and turn.audio is clip:
            conversation.set_transcript(turn, pending.text)
            return


class ListenSession:
    """The state of one `listen` call: who is busy, what to cancel, who waits for a reply."""

    def __init__(self, agent: Agent[Any], events: MemoryObjectSendStream[Event]) -> None:
        self.agent = agent
        self.events = events
        self.busy = False
        self.turn_scope: anyio.CancelScope | None = None
        self.reply_slot: MemoryObjectSendStream[Utterance] | None = None
        self.captions: CaptionTap | None = None
        self._pending: PendingTranscript | None = None

    async def emit(self, event: Event) -> None:
        await self.events.send(event)

    async def capture(
        self,
        source: AudioSource,
        utterances: MemoryObjectSendStream[Queued],
        push_to_talk: anyio.Event | None,
        scorer: Any,
    ) -> None:
        from voxagent.audio import segment

        agent = self.agent
        frames = self.captions.frames(source) if self.captions is not None else source
        items = segment(
            frames, settings=agent.endpointing, scorer=scorer, push_to_talk=push_to_talk
        )
        try:
            try:
                await self._segments(items, utterances)
            finally:
                # Close the capture chain now (it stops the microphone), not at garbage collection.
                await items.aclose()  # type: ignore[attr-defined]  # segment() is a generator
        except VoxagentError as exc:
            # The source failed (microphone unplugged, unreadable file): say so, stop listening.
            await self.emit(
                ErrorEvent(
                    message=exc.message,
                    error_type=type(exc).__name__,
                    hint=exc.hint,
                    recoverable=False,
                )
            )

    async def _segments(
        self,
        items: AsyncIterator[Any],
        utterances: MemoryObjectSendStream[Queued],
    ) -> None:
        from voxagent.audio import Utterance

        agent = self.agent
        async for item in items:
            match item:
                case SpeechStarted():
                    barging = self.busy and self.reply_slot is None
                    await self.emit(replace(item, while_busy=barging))
                    if self.captions is not None:
                        self._pending = self.captions.start()
                    if barging and agent.barge_in == "cancel" and self.turn_scope is not None:
                        self.turn_scope.cancel()
                case Utterance():
                    await self.emit(SpeechEnded(at=item.end, duration=item.duration))
                    pending, self._pending = self._pending, None
                    if self.captions is not None:
                        self.captions.stop()
                    if self.reply_slot is not None:
                        with contextlib.suppress(anyio.WouldBlock):
                            self.reply_slot.send_nowait(item)
                        continue
                    try:
                        utterances.send_nowait(Queued(item, agent._clock(), pending))
                    except anyio.WouldBlock:
                        await self.emit(
                            ErrorEvent(
                                message="An utterance was dropped: 8 turns were already waiting.",
                                error_type="QueueFull",
                                hint="use barge_in='cancel', or speak after the agent answers",
                            )
                        )
                case AudioOverflow():
                    await self.emit(item)

    async def run_turns(
        self, utterances: MemoryObjectReceiveStream[Queued]
    ) -> None:
        agent = self.agent
        async with utterances:
            async for queued in utterances:
                turn_id = next(agent._turn_ids)
                with anyio.CancelScope() as scope:
                    self.turn_scope = scope
                    self.busy = True
                    try:
                        await self._one_turn(queued, turn_id)
                    finally:
                        self.busy = False
                        self.turn_scope = None
                if scope.cancelled_caught:
                    await self.emit(TurnCancelled(turn_id=turn_id, reason="barge-in"))

    async def _one_turn(self, queued: Queued, turn_id: int) -> None:
        agent = self.agent
        utterance = queued.utterance
        started = agent._clock()
        try:
            clip = await anyio.to_thread.run_sync(utterance.to_clip)
            timings = {"queued": started - queued.at, "prepare": agent._clock() - started}
            if utterance.detected_at is not None:
                # Stream seconds the endpointer waited after speech ended before deciding.
                timings["endpointing"] = utterance.detected_at - utterance.end
            async with agent._turn_lock, anyio.create_task_group() as tg:
                env = agent._env(resolve_policy(agent.approval, voice=self.voice_approval))
                if queued.transcript is not None:
                    tg.start_soon(_attach_transcript, agent.conversation, clip, queued.transcript)
                result = await run_turn(
                    env, TurnInput(clip=clip, timings=timings), turn_id, self.emit
                )
            if agent.speaker is not None and result.text:
                await agent.speaker(result.text)
        except VoxagentError as exc:
            await self.emit(
                ErrorEvent(message=exc.message, error_type=type(exc).__name__, hint=exc.hint)
            )

    async def voice_approval(self, request: ApprovalRequest) -> bool:
        """Ask the user by voice, then let the model classify the spoken answer."""
        agent = self.agent
        await self.emit(
            ConfirmationRequested(
                call_id=request.call_id,
                name=request.tool_name,
                arguments=request.arguments,
                question=request.question,
            )
        )
        send, receive = anyio.create_memory_object_stream["Utterance"](max_buffer_size=1)
        self.reply_slot = send
        try:
            if agent.speaker is not None:
                await agent.speaker(request.question)
            with anyio.move_on_after(agent.confirm_timeout):
                reply = await receive.receive()
                clip = await anyio.to_thread.run_sync(reply.to_clip)
                return await classify_yes_no(agent.client, request.question, clip)
            return False
        finally:
            self.reply_slot = None
            send.close()
            receive.close()


_REPLY_TOOL = {
    "type": "function",
    "function": {
        "name": "record_reply",
        "description": "Record whether the user's spoken reply means yes or no.",
        "parameters": {
            "type": "object",
            "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
            "required": ["answer"],
        },
    },
}


async def classify_yes_no(client: ModelClient, question: str, clip: AudioClip) -> bool:
    """Ask the model whether a spoken reply to `question` means yes (in any language).

    The answer is forced through a tool with an enum argument, so even a model that would ramble
    gives a schema-valid yes or no. Anything unclear counts as no.
    """

    prompt = (
        f'The user was asked: "{question}" The audio is their spoken reply, in any language. '
        "Call record_reply with answer 'yes' only if they clearly agreed; otherwise 'no'."
    )
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": prompt}, client.dialect.audio_part(clip)],
        }
    ]
    response = await client.chat(
        messages, tools=[_REPLY_TOOL], tool_choice="record_reply", temperature=0.0
    )
    for call in response.tool_calls:
        try:
            return bool(json.loads(call.arguments).get("answer") == "yes")
        except (ValueError, AttributeError):
            return False
    return (response.text or "").strip().lower().startswith(("yes", "oui", "ja", "sí", "si", "sim"))
