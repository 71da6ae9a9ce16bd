"""The events an agent emits while it listens and answers.

Every event is a small frozen dataclass; `Event` is their union, meant for `match`:

    async for event in agent.listen(Microphone()):
        match event:
            case AssistantTextDelta(text=text):
                print(text, end="")
            case ToolCallFinished(name=name, is_error=True, result=result):
                print(f"{name} failed: {result}")

`event_to_dict` gives the JSON-ready form used by `voxagent run --events jsonl`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AssistantMessage",
    "AssistantTextDelta",
    "AudioOverflow",
    "ConfirmationRequested",
    "ErrorEvent",
    "Event",
    "SpeculationDiscarded",
    "SpeculationStarted",
    "SpeechEnded",
    "SpeechPaused",
    "SpeechResumed",
    "SpeechStarted",
    "ToolCallFinished",
    "ToolCallStarted",
    "ToolStillRunning",
    "TranscriptDelta",
    "TranscriptFinal",
    "TurnCancelled",
    "TurnCompleted",
    "TurnStarted",
    "event_to_dict",
]


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The endpointer heard speech begin.

    Attributes:
        at: Seconds since the audio source started (stream time, not wall time).
        while_busy: True when the agent was still working on an earlier turn (barge-in).
    """

    at: float
    while_busy: bool = False


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """The endpointer decided the utterance is over.

    Attributes:
        at: Stream time of the end of speech, in seconds.
        duration: Length of the utterance sent to the model, in seconds (pre-roll included).
    """

    at: float
    duration: float


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    """The user paused and the turn looks complete: a candidate end, not yet decided.

    Attributes:
        at: Stream time where speech paused, in seconds.
        probability: The turn detector's P(turn complete); None without a detector.
    """

    at: float
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class SpeechResumed:
    """The user spoke again after a pause, before the end was decided: the utterance goes on.

    Attributes:
        at: Stream time where speech resumed, in seconds.
    """

    at: float


@dataclass(frozen=True, slots=True)
class SpeculationStarted:
    """A reply is being prepared speculatively at a pause (nothing is shown, said or recorded
    until the turn is confirmed; only `read_only` tools may run).

    Attributes:
        at: Stream time of the end of speech the speculation answers.
    """

    at: float


@dataclass(frozen=True, slots=True)
class SpeculationDiscarded:
    """A speculative reply was thrown away: nothing of it was shown, said or recorded.

    Attributes:
        at: Stream time of the end of speech the speculation answered.
        reason: Why ("speech resumed", "the audio changed", "the conversation changed", ...).
        tools_run: The `read_only` tools it had started (their results may still be reused).
    """

    at: float
    reason: str
    tools_run: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    """A piece of live transcription (Voxtral Realtime) while the user speaks."""

    text: str


@dataclass(frozen=True, slots=True)
class TranscriptFinal:
    """The transcript of the user's utterance, when one is available."""

    text: str


@dataclass(frozen=True, slots=True)
class TurnStarted:
    """A user turn was handed to the model.

    Attributes:
        turn_id: Identifier of the turn, unique within the agent.
        has_audio: Whether the turn carries audio.
        text: The turn's text part, if any.
        speculative: True when the model request was sent speculatively, before the end of the
            turn was decided (at a `SpeechPaused`), and is used now that it is confirmed.
    """

    turn_id: int
    has_audio: bool
    text: str | None = None
    speculative: bool = False


@dataclass(frozen=True, slots=True)
class AssistantTextDelta:
    """A fragment of the assistant's answer, as it streams."""

    text: str


@dataclass(frozen=True, slots=True)
class AssistantMessage:
    """The assistant's complete text answer for one model round."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    """A tool is about to run with validated arguments.

    Attributes:
        call_id: The tool call's id in the conversation.
        name: Tool name.
        arguments: The arguments as the model sent them (parsed JSON when possible).
        speculative: True for a `read_only` tool that already ran while the turn was still
            speculative; its result is reused.
    """

    call_id: str
    name: str
    arguments: dict[str, Any]
    speculative: bool = False


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    """A tool call ended (successfully, with an error, denied or cancelled).

    Attributes:
        call_id: The tool call's id.
        name: Tool name.
        result: The text sent back to the model.
        is_error: True when the result reports a failure.
        duration: Seconds the tool ran.
        error_kind: Why it failed, when it did ("denied", "invalid_arguments", "timeout",
            "truncated", "cancelled", ...; see `voxagent.tools.result.ERROR_KINDS`).
    """

    call_id: str
    name: str
    result: str
    is_error: bool
    duration: float
    error_kind: str | None = None


@dataclass(frozen=True, slots=True)
class ToolStillRunning:
    """A tool has been running longer than the agent's `slow_tool_after` (fill the silence).

    Attributes:
        call_id: The running call's id.
        name: Tool name.
        elapsed: Seconds it has run so far.
        notice: What the agent says meanwhile (spoken through the speaker hook, if any).
    """

    call_id: str
    name: str
    elapsed: float
    notice: str


@dataclass(frozen=True, slots=True)
class ConfirmationRequested:
    """A `confirm=True` tool waits for the user's approval (by voice, a callback or a policy).

    Attributes:
        call_id: The pending call's id.
        name: Tool name.
        arguments: The validated arguments.
        question: The question put to the user ("Run set_alarm(time=07:00)? Say yes or no.").
    """

    call_id: str
    name: str
    arguments: dict[str, Any]
    question: str


@dataclass(frozen=True, slots=True)
class TurnCancelled:
    """A turn was cut short (barge-in or cancellation); the conversation stays valid.

    Attributes:
        turn_id: The turn's id.
        reason: Why ("barge-in").
        continued: True when the user went on speaking before the turn had said or done
            anything (no text, no tool with side effects, no question): the turn was taken
            back from the conversation and its audio opens the next turn, so the model hears
            the whole utterance at once.
    """

    turn_id: int
    reason: str
    continued: bool = False


@dataclass(frozen=True, slots=True)
class TurnCompleted:
    """A user turn finished.

    Attributes:
        turn_id: The turn's id.
        text: The final assistant text ("" if none).
        timings: Seconds per stage (for example `endpointing`, `model`, `tools`, `total`).
        usage: Token counts summed over the turn's model rounds.
    """

    turn_id: int
    text: str
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AudioOverflow:
    """Captured audio was dropped because the consumer fell behind.

    Attributes:
        dropped_frames: Frames dropped since the previous report.
        total_dropped: Frames dropped since the source started.
    """

    dropped_frames: int
    total_dropped: int


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """Something failed; the agent keeps going when `recoverable` is true.

    Attributes:
        message: One clear line: what failed and why.
        error_type: The exception's class name.
        hint: What to do about it, when known.
        recoverable: False when the loop stops after this event.
    """

    message: str
    error_type: str
    hint: str | None = None
    recoverable: bool = True

    @classmethod
    def from_exception(
        cls, exc: BaseException, *, recoverable: bool = True, prefix: str | None = None
    ) -> ErrorEvent:
        """The event for an exception: a `VoxagentError`'s message and hint, else its text.

        Args:
            exc: What failed.
            recoverable: False when the loop stops after this event.
            prefix: What was being done, put before the message ("live captions stopped").
        """
        message = getattr(exc, "message", None)
        if not isinstance(message, str):
            message = str(exc) or type(exc).__name__
        hint = getattr(exc, "hint", None)
        return cls(
            message=f"{prefix}: {message}" if prefix else message,
            error_type=type(exc).__name__,
            hint=hint if isinstance(hint, str) else None,
            recoverable=recoverable,
        )


Event = (
    SpeechStarted
    | SpeechPaused
    | SpeechResumed
    | SpeculationStarted
    | SpeculationDiscarded
    | SpeechEnded
    | TranscriptDelta
    | TranscriptFinal
    | TurnStarted
    | AssistantTextDelta
    | AssistantMessage
    | ToolCallStarted
    | ToolCallFinished
    | ToolStillRunning
    | ConfirmationRequested
    | TurnCancelled
    | TurnCompleted
    | AudioOverflow
    | ErrorEvent
)

_TYPE_NAMES: dict[type[Any], str] = {
    SpeechStarted: "speech_started",
    SpeechEnded: "speech_ended",
    SpeechPaused: "speech_paused",
    SpeechResumed: "speech_resumed",
    SpeculationStarted: "speculation_started",
    SpeculationDiscarded: "speculation_discarded",
    TranscriptDelta: "transcript_delta",
    TranscriptFinal: "transcript",
    TurnStarted: "turn_started",
    AssistantTextDelta: "assistant_text_delta",
    AssistantMessage: "assistant_message",
    ToolCallStarted: "tool_call_started",
    ToolCallFinished: "tool_call_finished",
    ToolStillRunning: "tool_still_running",
    ConfirmationRequested: "confirmation_requested",
    TurnCancelled: "turn_cancelled",
    TurnCompleted: "turn_completed",
    AudioOverflow: "audio_overflow",
    ErrorEvent: "error",
}


def event_to_dict(event: Event) -> dict[str, Any]:
    """Return the JSON-ready form of an event: `{"type": "...", **fields}`."""
    return {"type": _TYPE_NAMES[type(event)], **dataclasses.asdict(event)}
