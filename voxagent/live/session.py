"""The live side of `Agent.listen`: capture, barge-in, queued turns and spoken confirmation.

One `ListenSession` per `listen` call holds the little state the live loop needs: whether a turn
is running (and its cancel scope, for barge-in), who waits for the user's spoken yes/no, and the
live-caption tap. It depends on a `TurnHost` (run one turn, classify a spoken reply), not on the
whole `Agent`; turns themselves go through the one loop in `voxagent.loop.turn`.

The error contract of the live loop: a failed turn (server, protocol, speaker, captions, a bug)
becomes an `ErrorEvent` and listening goes on; only a failed audio source ends it, with its typed
error, after the turns already queued are answered.

Speculative replies: at a candidate end (`VoicePause`, the user paused and the turn looks
complete) the session asks its host for a `Speculation`, the request the turn would send, sent at
once while the endpointer is still deciding. When the end is confirmed with the same audio, the
turn uses it (`TurnStarted.speculative`); when the user speaks again, it is cancelled
(`SpeculationDiscarded`): nothing was shown, said or recorded, and only `read_only` tools ran.

Events never wait for the consumer: they go into an unbounded buffer, and while more than
`DELTA_BACKLOG` events wait unread, text and caption deltas are dropped (counted in
`dropped_deltas`); every other event is kept. A consumer that has gone away loses nothing that
matters: the conversation is recorded before events are sent.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from voxagent.approval import Denied
from voxagent.errors import AudioError, VoxagentError
from voxagent.events import (
    AssistantTextDelta,
    AudioOverflow,
    ErrorEvent,
    Event,
    SpeculationDiscarded,
    SpeculationStarted,
    SpeechEnded,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    TranscriptDelta,
    TurnCancelled,
)
from voxagent.live.captions import CaptionTap, PendingTranscript
from voxagent.live.confirm import ask_by_voice
from voxagent.live.continuation import Carry, TurnWatch
from voxagent.live.parts import ListenOptions, Queued, TurnHost
from voxagent.loop.speculation import ReadOnlyResults, Speculation
from voxagent.loop.state import TurnInput

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from voxagent.approval import ApprovalRequest
    from voxagent.audio import AudioSource, Utterance
    from voxagent.audio.clip import AudioClip

__all__ = ["DELTA_BACKLOG", "ListenSession"]

logger = logging.getLogger("voxagent.listen")

# Unread events past which streaming deltas are dropped (the whole messages still arrive).
DELTA_BACKLOG = 1024
# Utterances that may wait for their turn from a live source; more are reported as dropped.
_QUEUE_LIVE = 8


class ListenSession:
    """The state of one `listen` call: who is busy, what to cancel, who waits for a reply.

    Args:
        host: Runs turns and classifies spoken replies (the agent).
        options: The agent's listening settings.
        events: Where events go (see `event_stream`); closed by the caller.
        live: Whether the source is a person speaking now (see `is_live`). Speech from a
            source that is not live never barges in: its utterances wait for their turn.
    """

    def __init__(
        self,
        host: TurnHost,
        options: ListenOptions,
        events: MemoryObjectSendStream[Event],
        *,
        live: bool = True,
    ) -> None:
        self.host = host
        self.options = options
        self.events = events
        self.live = live
        self.busy = False
        self.turn_scope: anyio.CancelScope | None = None
        self.reply_slot: MemoryObjectSendStream[Utterance] | None = None
        self.captions: CaptionTap | None = None
        self.dropped_deltas = 0
        self.failure: BaseException | None = None
        self._pending: PendingTranscript | None = None
        self._speculation: tuple[Speculation, AudioClip] | None = None
        self._results = ReadOnlyResults()
        self._group: TaskGroup | None = None
        self._asking = anyio.Lock()
        self._waiting = 0  # utterances handed to the turn runner and not yet answered
        self._changed = anyio.Event()  # set (and replaced) when busy or the reply slot changes
        max_s = options.endpointing.max_utterance_s if options.endpointing is not None else 30.0
        self._carry = Carry(max_s)  # a turn taken back, continued by the next utterance

    def notify(self) -> None:
        """Wake whoever waits for `busy` or the reply slot to change."""
        self._changed.set()
        self._changed = anyio.Event()

    async def emit(self, event: Event) -> None:
        """Send an event without ever waiting (see the module's buffering policy)."""
        try:
            if (
                isinstance(event, AssistantTextDelta | TranscriptDelta)
                and self.events.statistics().current_buffer_used >= DELTA_BACKLOG
            ):
                self.dropped_deltas += 1
                return
            self.events.send_nowait(event)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the consumer has left; what matters is already recorded

    async def run(self, source: AudioSource, push_to_talk: anyio.Event | None, scorer: Any) -> None:
        """Listen until the source ends and the queued turns are answered.

        Raises:
            VoxagentError: The audio source failed (after the queued turns were answered).
            KeyboardInterrupt, SystemExit: A tool raised it (the conversation is recorded).
        """
        try:
            await self._listen(source, push_to_talk, scorer)
        finally:
            self._carry.repay(self.host.restore)  # a turn taken back whose sequel never came
        if self.failure is not None:
            raise self.failure

    async def _listen(
        self, source: AudioSource, push_to_talk: anyio.Event | None, scorer: Any
    ) -> None:
        async with anyio.create_task_group() as tg:
            self._group = tg
            if self.options.live_transcriber is not None:
                self.captions = CaptionTap(self.options.live_transcriber, self.emit, tg)
            send, receive = anyio.create_memory_object_stream[Queued](
                max_buffer_size=_QUEUE_LIVE if self.live else 1
            )
            answered = anyio.Event()
            tg.start_soon(self._run_turns, receive, tg.cancel_scope, answered)
            async with send:
                await self._capture(source, send, push_to_talk, scorer)
            await answered.wait()
            # Every utterance is answered: a caption still being transcribed is for no one.
            tg.cancel_scope.cancel()

    async def _capture(
        self,
        source: AudioSource,
        utterances: MemoryObjectSendStream[Queued],
        push_to_talk: anyio.Event | None,
        scorer: Any,
    ) -> None:
        from voxagent.audio import segment  # lazy: numpy loads when listening starts

        frames = self.captions.frames(source) if self.captions is not None else source
        items = segment(
            frames,
            settings=self.options.endpointing,
            scorer=scorer,
            push_to_talk=push_to_talk,
            detector=self.options.turn_detector,
            policy=self.options.turn_policy,
        )
        try:
            try:
                await self._segments(items, utterances)
            finally:
                # Close the capture chain now (it stops the microphone), not at garbage collection.
                await items.aclose()  # type: ignore[attr-defined]  # segment() is a generator
        except VoxagentError as exc:
            # The source failed (microphone unplugged, unreadable file): stop capturing; the
            # turns already queued are still answered, then listen raises this.
            self.failure = exc
        except Exception as exc:
            # A source is a plug-in point (any async iterator of frames): type its failure.
            logger.error("the audio source failed", exc_info=exc)
            self.failure = AudioError(
                f"the audio source failed: {type(exc).__name__}: {exc}",
                hint="check the device or file; the log has the traceback",
            )

    async def _segments(
        self, items: AsyncIterator[Any], utterances: MemoryObjectSendStream[Queued]
    ) -> None:
        from voxagent.audio import Utterance, VoicePause, VoiceResume  # lazy: numpy

        async for item in items:
            match item:
                case SpeechStarted():
                    barging = self.live and self.busy and self.reply_slot is None
                    await self.emit(replace(item, while_busy=barging))
                    if self.captions is not None:
                        self._pending = self.captions.start()
                    if barging and self.options.barge_in == "cancel" and self.turn_scope:
                        self._carry.barged_in()
                        self.turn_scope.cancel()
                case VoicePause(utterance=paused, probability=probability):
                    await self.emit(SpeechPaused(at=paused.end, probability=probability))
                    await self._speculate(paused)
                case VoiceResume(at=at):
                    await self.emit(SpeechResumed(at=at))
                    await self._discard("speech resumed")
                case Utterance():
                    pending, self._pending = self._pending, None
                    if self.captions is not None:
                        self.captions.stop()
                    item, pending, continues = await self._carry.take(item, pending)
                    await self.emit(SpeechEnded(at=item.end, duration=item.duration))
                    speculation = self._speculation
                    if speculation is not None and speculation[0].at != item.end:
                        await self._discard("the audio changed")
                        speculation = None
                    self._speculation = None
                    if self.reply_slot is not None:
                        if speculation is not None:  # a reply is classified, not answered
                            speculation[0].cancel()
                        try:
                            self.reply_slot.send_nowait(item)
                            continue
                        except (anyio.WouldBlock, anyio.BrokenResourceError):
                            pass  # a reply is already being classified: this is a new turn
                    spec, clip = speculation if speculation is not None else (None, None)
                    queued = Queued(item, self.options.clock(), pending, spec, clip, continues)
                    await self._enqueue(utterances, queued)
                case AudioOverflow():
                    await self.emit(item)

    async def _speculate(self, paused: Utterance) -> None:
        """Send the turn's request now, at a candidate end, when nothing else is going on."""
        if (
            not self.options.speculate
            or not self.live
            or self.busy
            or self._waiting
            or self.reply_slot is not None
            or self._speculation is not None
            or self._group is None
            or self._carry.unsettled  # the audio of this turn is not known yet
        ):
            return
        try:
            clip = await anyio.to_thread.run_sync(self._carry.joined(paused).to_clip)
            speculation = self.host.speculate(
                clip, at=paused.end, results=self._results, tools=self._group
            )
        except VoxagentError as exc:  # the confirmed turn will meet (and report) it again
            logger.debug("no speculation: %s", exc)
            return
        if speculation is None:
            return
        self._speculation = (speculation, clip)
        self._group.start_soon(speculation.run)
        await self.emit(SpeculationStarted(at=paused.end))

    async def _discard(self, reason: str) -> None:
        if self._speculation is None:
            return
        speculation, _ = self._speculation
        self._speculation = None
        speculation.cancel()
        await self.emit(
            SpeculationDiscarded(
                at=speculation.at, reason=reason, tools_run=tuple(speculation.tools_run)
            )
        )

    async def _enqueue(self, utterances: MemoryObjectSendStream[Queued], queued: Queued) -> None:
        if not self.live:
            # A file is not a person: it takes turns. Its next utterance waits until the agent
            # has answered (or asks a question, which the utterance then answers); nothing is
            # dropped and nothing barges in.
            while self._waiting and self.reply_slot is None:
                await self._changed.wait()
            if self.reply_slot is not None:
                try:
                    self.reply_slot.send_nowait(queued.utterance)
                    return
                except (anyio.WouldBlock, anyio.BrokenResourceError):
                    pass
            self._waiting += 1
            await utterances.send(queued)
            return
        try:
            utterances.send_nowait(queued)
            self._waiting += 1
        except anyio.WouldBlock:
            await self.emit(
                ErrorEvent(
                    message=f"An utterance was dropped: {_QUEUE_LIVE} turns were already waiting.",
                    error_type="QueueFull",
                    hint="use barge_in='cancel', or speak after the agent answers",
                )
            )

    async def _run_turns(
        self,
        utterances: MemoryObjectReceiveStream[Queued],
        listening: anyio.CancelScope,
        answered: anyio.Event,
    ) -> None:
        try:
            await self._turns(utterances, listening)
        finally:
            answered.set()

    async def _turns(
        self, utterances: MemoryObjectReceiveStream[Queued], listening: anyio.CancelScope
    ) -> None:
        async with utterances:
            async for queued in utterances:
                turn_id = self.host.new_turn_id()
                watch = TurnWatch(self.emit, self.host.read_only)
                with anyio.CancelScope() as scope:
                    self.turn_scope = scope
                    self.busy = True
                    try:
                        await self._one_turn(queued, turn_id, watch)
                    except (KeyboardInterrupt, SystemExit) as exc:
                        # A tool let the interruption through: the conversation is recorded;
                        # stop listening and let `listen` raise it as itself.
                        self.failure = exc
                        listening.cancel()
                        return
                    finally:
                        self.busy = False
                        self.turn_scope = None
                        self._waiting -= 1
                        self.notify()
                if not scope.cancelled_caught:
                    self._carry.settle(None, None)  # a barge-in came as the turn was ending
                    continue
                # Synchronous: the next utterance (which waits for this) sees it at once.
                continued = self._carry.take_back(
                    queued, watch, others_waiting=self._waiting > 0, withdraw=self.host.withdraw
                )
                await self.emit(
                    TurnCancelled(turn_id=turn_id, reason="barge-in", continued=continued)
                )

    async def _one_turn(self, queued: Queued, turn_id: int, watch: TurnWatch) -> None:
        utterance = queued.utterance
        clock = self.options.clock
        started = clock()
        try:
            clip = queued.clip or await anyio.to_thread.run_sync(utterance.to_clip)
            watch.clip = clip
            timings = {"queued": started - queued.at, "prepare": clock() - started}
            if utterance.detected_at is not None:
                # Stream seconds the endpointer waited after speech ended before deciding.
                timings["endpointing"] = utterance.detected_at - utterance.end
            user = TurnInput(
                clip=clip,
                pending_transcript=queued.transcript,
                timings=timings,
                speculation=queued.speculation,
            )
            if queued.continues:
                self._carry.owed = None  # this turn records what was taken back
            await self.host.run_turn(user, watch.emit, turn_id=turn_id, voice=self.voice_approval)
        except VoxagentError as exc:
            await self.emit(ErrorEvent.from_exception(exc))
        except Exception as exc:
            # Not ours to type (a bug, or a plug-in's failure): one turn fails, listening goes on.
            logger.error("a turn failed: %s", exc, exc_info=exc)
            await self.emit(ErrorEvent.from_exception(exc))
        finally:
            if queued.speculation is not None:
                queued.speculation.cancel()  # used or not, this turn is its last chance
            self._results.clear()  # read-only results are for the turn they were made for

    async def voice_approval(self, request: ApprovalRequest) -> bool | Denied:
        """Ask the user by voice, then let the model classify the spoken answer.

        One question at a time: parallel calls that need approval wait for each other.
        """
        async with self._asking:
            return await ask_by_voice(self, request)
