"""Settings in two groups: how the model is asked (`ModelSettings`) and how the agent talks
(`VoiceSettings`).

`ModelSettings` is passed whole from `Agent` to the turn loop to the client
(`client.chat(messages, tools=..., settings=...)`); a turn may override fields with
`settings.replace(...)`. Both are frozen: one object can be shared by many agents.

Example:
    >>> agent = Agent(
    ...     "mistralai/Voxtral-Mini-3B-2507",
    ...     settings=ModelSettings(temperature=0.0, seed=7, max_tokens=256),
    ...     voice=VoiceSettings(barge_in="queue", speculate=False),
    ... )
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from voxagent.errors import ConfigurationError
from voxagent.interfaces import Transcriber

if TYPE_CHECKING:
    from voxagent.audio.endpointing import EndpointerSettings
    from voxagent.audio.turn_detector import TurnDetector, TurnPolicy
    from voxagent.interfaces import LiveTranscriber

__all__ = [
    "ModelSettings",
    "OldAttributes",
    "Speaker",
    "VoiceSettings",
    "get_old_attribute",
    "set_old_attribute",
    "upgrade_keywords",
]

Speaker: TypeAlias = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """How every chat request of a turn asks the model.

    Attributes:
        tool_choice: "auto", "none", "required" or a tool name. A forced choice applies to the
            first model request of each turn only (the loop sends "auto" after it).
        parallel_tool_calls: Let the model call several tools at once (None: server default).
        temperature: Sampling temperature (Voxtral's recommended 0.2).
        top_p: Nucleus sampling (Voxtral's recommended 0.95).
        max_tokens: Cap on each answer's tokens; also the room kept free in the context.
        seed: Sampling seed, for reproducible runs (sent under the dialect's field name).
        stream: Stream answers (text deltas, tools started as soon as their arguments are
            complete). False waits for whole responses.
        timeout: Seconds one model request may take in all (connecting, retries and reading
            the whole answer); past it the turn fails with a `ModelTimeoutError`. None: the
            client's deadline (300 s by default, 10 s to connect, 120 s between reads).
        extra_body: Fields merged last into every request body (server-specific options).
    """

    tool_choice: str = "auto"
    parallel_tool_calls: bool | None = None
    temperature: float = 0.2
    top_p: float = 0.95
    max_tokens: int | None = None
    seed: int | None = None
    stream: bool = True
    timeout: float | None = None
    extra_body: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        # Settings come from code, config files and argv: a wrong value is refused here, once,
        # not as a 400 from the server on every turn.
        if not isinstance(self.tool_choice, str) or not self.tool_choice:
            _invalid("tool_choice", self.tool_choice, "'auto', 'none', 'required' or a tool name")
        if not _number(self.temperature) or self.temperature < 0:
            _invalid("temperature", self.temperature, "a number >= 0 (Voxtral recommends 0.2)")
        if not _number(self.top_p) or not 0 < self.top_p <= 1:
            _invalid("top_p", self.top_p, "a number in (0, 1] (Voxtral recommends 0.95)")
        if self.max_tokens is not None and (not _integer(self.max_tokens) or self.max_tokens < 1):
            _invalid("max_tokens", self.max_tokens, "a positive integer, or None for no cap")
        if self.seed is not None and not _integer(self.seed):
            _invalid("seed", self.seed, "an integer, or None")
        if self.timeout is not None and (not _number(self.timeout) or self.timeout <= 0):
            _invalid("timeout", self.timeout, "a positive number of seconds, or None")

    def replace(self, **changes: Any) -> ModelSettings:
        """A copy with some fields changed (checked like the original)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """How the agent listens and talks (used by `listen`, and by `ask` for the speaker).

    Attributes:
        speaker: An async `(text) -> None` that speaks answers and questions (a TTS hook), fed
            sentence by sentence as the answer streams.
        barge_in: While the agent works, new speech "cancel"s the current turn or is "queue"d.
        endpointing: Endpointer settings for `listen` (silence, padding, utterance limits).
        turn_detector: Who decides that the user has finished: "auto" (the Smart Turn model
            when the `turn` extra and its model are found, else silence alone), a
            `voxagent.audio.TurnDetector`, or None (silence: `endpointing.end_silence_s`).
        turn_policy: When the detector is asked and what ends the turn (its defaults if None).
        speculate: Send the turn's request at a pause that looks like the end of the turn,
            before the end is decided; the answer is held until confirmed and thrown away when
            the user speaks on. Only `read_only` tools run early.
        live_transcriber: A live transcriber (Voxtral Realtime) for captions while the user
            speaks; its final text becomes the turn's transcript. The agent opens and closes it.
        transcriber: Who transcribes older voice messages when compaction replaces them by
            text: any `voxagent.interfaces.Transcriber`, for example a `ModelClient` of one
            replica or of a transcription server when the model sits behind vllm-router (which
            does not pass transcriptions). None: the agent's model, when it transcribes.
            Ownership: when it is an async context manager and not the agent's model object,
            the agent enters it when it starts and leaves it when it stops. A `ModelClient`
            counts those entries: one you opened yourself stays open after the agent stops,
            one you did not is closed with the agent (and reopened if the agent starts again).
        confirm_timeout: Seconds to wait for a spoken yes/no before treating it as no.
        slow_tool_after: Seconds a tool may run before the agent fills the silence (a
            `ToolStillRunning` event and `slow_tool_notice` spoken); None turns it off.
        slow_tool_notice: What the agent says while a slow tool runs.
    """

    speaker: Speaker | None = None
    barge_in: Literal["cancel", "queue"] = "cancel"
    endpointing: EndpointerSettings | None = None
    turn_detector: TurnDetector | Literal["auto"] | None = "auto"
    turn_policy: TurnPolicy | None = None
    speculate: bool = True
    live_transcriber: LiveTranscriber | None = None
    transcriber: Transcriber | None = None
    confirm_timeout: float = 30.0
    slow_tool_after: float | None = 2.0
    slow_tool_notice: str = "One moment, I'm still working on it."

    def __post_init__(self) -> None:
        if self.barge_in not in ("cancel", "queue"):
            _invalid(
                "barge_in",
                self.barge_in,
                "'cancel' (stop the current turn when the user speaks) or 'queue' (wait)",
            )
        if not _number(self.confirm_timeout) or self.confirm_timeout <= 0:
            _invalid("confirm_timeout", self.confirm_timeout, "a positive number of seconds")
        if self.slow_tool_after is not None and (
            not _number(self.slow_tool_after) or self.slow_tool_after < 0
        ):
            _invalid("slow_tool_after", self.slow_tool_after, "seconds >= 0, or None for never")
        if self.transcriber is not None:
            _check_transcriber(self.transcriber)

    def replace(self, **changes: Any) -> VoiceSettings:
        """A copy with some fields changed (checked like the original)."""
        return dataclasses.replace(self, **changes)


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_transcriber(value: object) -> None:
    method = getattr(value, "transcribe", None)
    if inspect.isasyncgenfunction(method):
        # RealtimeTranscriber and MLXTranscriber stream an utterance's frames (LiveTranscriber):
        # they have a `transcribe` too, which isinstance(value, Transcriber) cannot tell apart.
        raise ConfigurationError(
            f"transcriber must be a batch Transcriber; {type(value).__name__} is a live one",
            hint="give it as VoiceSettings(live_transcriber=...) for captions; for compaction's "
            "transcripts use transcriber=ModelClient('http://HOST:PORT/v1') of a server that "
            "answers /v1/audio/transcriptions (a replica itself, not vllm-router)",
        )
    plain = (inspect.isfunction(method) or inspect.ismethod(method)) and not (
        inspect.iscoroutinefunction(method)
    )
    if not isinstance(value, Transcriber) or not callable(method) or plain:
        raise ConfigurationError(
            f"transcriber must be a voxagent.interfaces.Transcriber, not {type(value).__name__}",
            hint="use transcriber=ModelClient('http://HOST:PORT/v1') (a server that answers "
            "/v1/audio/transcriptions), or an object with `async def transcribe(clip, *, "
            "language=None, max_completion_tokens=512) -> str`",
        )


def _invalid(name: str, value: object, expected: str) -> None:
    raise ConfigurationError(
        f"{name} must be {expected.split(' (')[0]}, not {value!r}", hint=f"use {expected}"
    )


# The 0.1 keywords of `Agent(...)` -> (the group, its field). Kept for one release.
_DEPRECATED: dict[str, tuple[str, str]] = {
    **{
        name: ("settings", name)
        for name in (
            "tool_choice",
            "parallel_tool_calls",
            "temperature",
            "top_p",
            "max_tokens",
            "seed",
            "stream",
        )
    },
    "request_timeout": ("settings", "timeout"),
    **{
        name: ("voice", name)
        for name in (
            "speaker",
            "barge_in",
            "endpointing",
            "turn_detector",
            "turn_policy",
            "speculate",
            "live_transcriber",
            "confirm_timeout",
            "slow_tool_after",
            "slow_tool_notice",
        )
    },
}


def upgrade_keywords(
    settings: ModelSettings | None, voice: VoiceSettings | None, keywords: dict[str, Any]
) -> tuple[ModelSettings, VoiceSettings]:
    """Fold the 0.1 keywords of `Agent(...)` into its two settings groups, with a warning each.

    Raises:
        TypeError: a keyword that never existed (as Python says for any unknown keyword).
    """
    unknown = sorted(set(keywords) - set(_DEPRECATED))
    if unknown:
        raise TypeError(f"Agent() got an unexpected keyword argument {unknown[0]!r}")
    changes: dict[str, dict[str, Any]] = {"settings": {}, "voice": {}}
    for name, value in keywords.items():
        group, field_name = _DEPRECATED[name]
        warnings.warn(
            f"Agent({name}=...) is deprecated: use Agent({group}="
            f"{'ModelSettings' if group == 'settings' else 'VoiceSettings'}({field_name}=...))",
            DeprecationWarning,
            stacklevel=3,
        )
        changes[group][field_name] = value
    model = settings or ModelSettings()
    talk = voice or VoiceSettings()
    return (
        model.replace(**changes["settings"]) if changes["settings"] else model,
        talk.replace(**changes["voice"]) if changes["voice"] else talk,
    )


def get_old_attribute(owner: object, name: str) -> Any:
    """An agent's 0.1 attribute (`agent.speaker`, ...) read from its group, with a warning.

    Raises:
        AttributeError: `name` was never an attribute of the agent.
    """
    place = _DEPRECATED.get(name)
    if place is None:
        raise AttributeError(f"{type(owner).__name__!r} object has no attribute {name!r}")
    group, field_name = place
    _warn_attribute(name, group, field_name)
    return getattr(getattr(owner, group), field_name)


def set_old_attribute(owner: object, name: str, value: Any) -> bool:
    """Set an agent's 0.1 attribute in its group (with a warning); False for any other name.

    Without this, `agent.speaker = ...` would make a new attribute nothing reads.
    """
    place = _DEPRECATED.get(name)
    if place is None:
        return False
    group, field_name = place
    _warn_attribute(name, group, field_name)
    object.__setattr__(owner, group, getattr(owner, group).replace(**{field_name: value}))
    return True


def _warn_attribute(name: str, group: str, field_name: str) -> None:
    warnings.warn(
        f"agent.{name} is deprecated: use agent.{group}.{field_name} "
        f"(agent.{group} = agent.{group}.replace({field_name}=...) to change it)",
        DeprecationWarning,
        stacklevel=4,
    )


class OldAttributes:
    """The agent's 0.1 attributes (`agent.speaker`, `agent.request_timeout`, ...) for one
    release: read from and written to `agent.settings` / `agent.voice`, each with a warning.
    Only at run time: type checkers flag the old names."""

    __slots__ = ()

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            return get_old_attribute(self, name)

        def __setattr__(self, name: str, value: Any) -> None:
            if not set_old_attribute(self, name, value):
                super().__setattr__(name, value)
