"""Speech out around a turn: the answer spoken sentence by sentence while it streams.

The speaker's queue (`voxagent.live.speech_out.SpeechOut`) runs in the turn's own task group, so a
barge-in that cancels the turn stops the speech at once. A spoken question (a confirmation)
joins the same queue, after what the turn is already saying.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable

import anyio

from voxagent import telemetry
from voxagent.errors import SpeakerError
from voxagent.events import AssistantMessage, AssistantTextDelta, Event
from voxagent.live.speech_out import SpeechOut
from voxagent.results import TurnResult
from voxagent.settings import Speaker

__all__ = ["say_after_current", "spoken_turn"]

# The speech of the turn the current task runs: a spoken question joins its queue.
_current_speech: contextvars.ContextVar[SpeechOut | None] = contextvars.ContextVar(
    "voxagent_current_speech", default=None
)

Emit = Callable[[Event], Awaitable[None]]


async def spoken_turn(
    speaker: Speaker,
    emit: Emit,
    run: Callable[[Emit, SpeechOut], Awaitable[TurnResult]],
) -> TurnResult:
    """Run a turn (`run(emit, speech)`) while its answer is spoken as it streams.

    Raises:
        SpeakerError: the speaker failed; the turn's result is recorded (`error.result`).
    """
    speech = SpeechOut(functools.partial(telemetry.speak, speaker))

    async def speaking(event: Event) -> None:
        if isinstance(event, AssistantTextDelta):
            speech.text(event.text)
        elif isinstance(event, AssistantMessage):
            speech.message(event.text)
        await emit(event)

    failure: BaseException | None = None
    result: TurnResult | None = None
    async with anyio.create_task_group() as speaking_group:
        speaking_group.start_soon(speech.run)
        token = _current_speech.set(speech)
        try:
            result = await run(speaking, speech)
            await speech.finish()
        except BaseException as exc:  # kept out of the task group, raised as itself below
            failure = exc
            speaking_group.cancel_scope.cancel()
        finally:
            _current_speech.reset(token)
            speech.close()
    if failure is not None:
        raise failure
    assert result is not None
    if speech.error is not None:
        error = SpeakerError(
            f"the speaker failed: {type(speech.error).__name__}: {speech.error}",
            hint="the answer is recorded (error.result has it); check the speaker hook",
        )
        error.result = result
        raise error from speech.error
    return result


async def say_after_current(speaker: Speaker | None, text: str) -> None:
    """Say `text` after what the current turn is saying (or at once, outside a spoken turn)."""
    speech = _current_speech.get()
    if speech is not None:
        await speech.speak(text)
    elif speaker is not None:
        await telemetry.speak(speaker, text)
