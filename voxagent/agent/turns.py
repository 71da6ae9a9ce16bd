"""The agent's turn runner: one turn at a time, the loop's environment, the user's audio.

`Agent.ask` and a listen session both end in `locked_turn`: the agent's turn lock, the
environment the loop in `voxagent.loop.turn` needs, and the error contract (only `VoxagentError`s,
cancellation and what a tool let through on purpose leave a turn).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from voxagent.agent.speech import spoken_turn
from voxagent.approval import resolve_policy
from voxagent.errors import ConfigurationError, VoxagentError
from voxagent.events import Event
from voxagent.loop.turn import TurnEnv, run_turn
from voxagent.tools.invoke import tool_host

if TYPE_CHECKING:
    from voxagent.agent import Agent
    from voxagent.approval import Approval
    from voxagent.audio.clip import AudioClip
    from voxagent.audio.ingest import AudioInput
    from voxagent.conversation import Conversation
    from voxagent.interfaces import ChatModel
    from voxagent.live.speech_out import SpeechOut
    from voxagent.loop.state import TurnInput
    from voxagent.results import TurnResult

__all__ = ["agent_turn", "callback_emitter", "count_user_turns", "locked_turn", "prepare_clip"]

logger = logging.getLogger("voxagent.agent")

Emit = Callable[[Event], Awaitable[None]]

# The agent whose turn the current task (and the tool tasks it starts) is running: a tool that
# calls `ask()` on its own agent would wait for the turn lock its own turn holds.
_running_turn: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "voxagent_running_turn", default=None
)


def count_user_turns(conversation: Conversation) -> int:
    """How many user turns a conversation holds (turn ids go on from there)."""
    from voxagent.conversation import UserTurn  # lazy: the conversation package loads on use

    return sum(1 for turn in conversation.turns if isinstance(turn, UserTurn))


def callback_emitter(on_event: Callable[[Event], Awaitable[None] | None] | None) -> Emit:
    """The turn's `emit` for an `ask(on_event=...)` callback, sync or async.

    The callback watches the turn; its failure is logged and must not break what it watches.
    """

    async def emit(event: Event) -> None:
        if on_event is None:
            return
        try:
            outcome = on_event(event)
            if outcome is not None:
                await outcome
        except Exception as exc:
            logger.error(
                "on_event callback failed on %s: %s", type(event).__name__, exc, exc_info=exc
            )

    return emit


async def prepare_clip(audio: AudioInput | AudioClip, sample_rate: int | None) -> AudioClip:
    """The user's audio as a clip the server can decode, checked before it is recorded."""
    from voxagent.audio.clip import AudioClip  # lazy: numpy and libsndfile load on first audio
    from voxagent.audio.ingest import check_clip, read_clip

    if isinstance(audio, AudioClip):
        # Built by hand, it can hold anything: a clip the server cannot decode would fail
        # every later request, so it is checked before it is recorded.
        check_clip(audio)
        return audio
    # Decoding and resampling are CPU work, and a pipe may never deliver: off the event
    # loop, abandoned at once on cancellation, bounded in size and length.
    return await read_clip(audio, sample_rate)


async def agent_turn(
    agent: Agent[Any], user: TurnInput, emit: Emit, turn_id: int, voice: Approval | None
) -> TurnResult:
    """One turn of `agent`: lock, loop, and speech out.

    With a speaker, the answer is spoken sentence by sentence as it streams (see
    `voxagent.live.speech_out`), in the turn's cancel scope: a barge-in stops it at once.

    Raises:
        ConfigurationError: the agent is not started, or a tool of its running turn called it.
    """
    if _running_turn.get() is agent:
        raise ConfigurationError(
            "a tool called ask() on its own agent while that agent's turn was running "
            "(it would wait for itself forever)",
            hint="return the result to the model instead, or use a second Agent",
        )
    client = agent.client  # raises ConfigurationError outside `async with agent`
    speaker = agent.voice.speaker
    if speaker is None:
        return await locked_turn(agent, client, user, emit, turn_id, voice, None)
    return await spoken_turn(
        speaker,
        emit,
        lambda speaking, speech: locked_turn(agent, client, user, speaking, turn_id, voice, speech),
    )


async def locked_turn(
    agent: Agent[Any],
    client: ChatModel,
    user: TurnInput,
    emit: Emit,
    turn_id: int,
    voice: Approval | None,
    speech: SpeechOut | None,
) -> TurnResult:
    """Run one turn of `agent` under its turn lock; only typed errors leave it."""
    async with agent._turn_lock:
        token = _running_turn.set(agent)
        try:
            env = _env(agent, client, resolve_policy(agent.approval, voice=voice), speech)
            with tool_host(agent._background):
                return await run_turn(env, user, turn_id, emit)
        except VoxagentError:
            raise
        except Exception as exc:
            # Not a failure voxagent knows how to type: keep the contract (one typed error,
            # with the cause chained and logged) rather than leak an arbitrary exception.
            logger.error("turn %d failed unexpectedly", turn_id, exc_info=exc)
            raise VoxagentError(
                f"the turn failed unexpectedly: {type(exc).__name__}: {exc}",
                hint="this is a bug in voxagent or a plug-in; the log has the traceback",
            ) from exc
        finally:
            _running_turn.reset(token)


def _env(
    agent: Agent[Any], client: ChatModel, approval: Approval, speech: SpeechOut | None
) -> TurnEnv:
    return TurnEnv(
        client=client,
        conversation=agent.conversation,
        registry=agent.registry,
        settings=agent.settings,
        budget=agent._budget,
        deps=agent.deps,
        approval=approval,
        max_tool_rounds=agent.max_tool_rounds,
        clock=agent._clock,
        prefetch_transcripts=agent._prefetch_transcripts,
        slow_tool_after=agent.voice.slow_tool_after,
        slow_tool_notice=agent.voice.slow_tool_notice,
        # The notice is queued with the answer's speech: it is neither talked over nor cut
        # off when the tool finishes.
        speaker=speech.say if speech is not None else None,
    )
