"""The seams the agent depends on: a chat model, a batch transcriber, a live transcriber.

`voxagent.client.ModelClient` implements `ChatModel` and `Transcriber` over HTTP;
`voxagent.realtime.RealtimeTranscriber` and `voxagent.realtime.MLXTranscriber` implement
`LiveTranscriber`; `voxagent.testing.FunctionModel` and `voxagent.testing.TestModel` are
in-process fakes of `ChatModel`. Any object with these methods plugs in:

    class MyModel:
        dialect = VLLM
        async def chat(self, messages, *, tools=None, settings=None, session=None): ...
        def stream_chat(self, messages, *, tools=None, settings=None, session=None): ...
        async def resolve_model(self): return ModelInfo(id="mine", max_model_len=32768)

    agent = Agent(MyModel())

Only data types are imported here: depending on a seam loads no HTTP stack.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from types import TracebackType

    from voxagent.audio.clip import AudioClip
    from voxagent.client.dialects import Dialect
    from voxagent.client.types import ChatResponse, ModelInfo, StreamItem
    from voxagent.events import TranscriptDelta, TranscriptFinal
    from voxagent.settings import ModelSettings

__all__ = ["ChatModel", "LiveTranscriber", "Transcriber"]


@runtime_checkable
class ChatModel(Protocol):
    """What a turn needs from a model: one chat request, whole or streamed.

    Attributes:
        dialect: How messages are rendered for this model (audio parts, tool choice, seed).
    """

    @property
    def dialect(self) -> Dialect:
        """How messages are rendered for this model."""
        ...

    async def resolve_model(self) -> ModelInfo:
        """The model answering, with its context length (the agent sizes its budget by it)."""
        ...

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        settings: ModelSettings | None = None,
        session: str | None = None,
    ) -> ChatResponse:
        """Send one chat request; return the whole assistant message.

        Args:
            messages: Rendered messages (`Conversation.render`).
            tools: Tool definitions in OpenAI form.
            settings: Sampling and tool options (`settings.stream` is ignored here).
            session: The conversation's session key (a router keeps it on one replica).

        Raises:
            ModelError: the request failed (typed: timeout, rate limit, bad request...).
        """
        ...

    def stream_chat(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        settings: ModelSettings | None = None,
        session: str | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Stream one chat request: `TextDelta`s and `ToolCallReady`s, then one `StreamDone`."""
        ...


@runtime_checkable
class Transcriber(Protocol):
    """Batch transcription: a recorded clip to its text (compaction replaces old audio by it)."""

    async def transcribe(
        self, clip: AudioClip, *, language: str | None = None, max_completion_tokens: int = 512
    ) -> str:
        """The text of `clip`.

        Args:
            clip: The recorded audio.
            language: ISO 639-1 code, or None to let the model detect it.
            max_completion_tokens: The cap on generated tokens.

        Raises:
            ModelError: the server refused or failed; compaction uses a placeholder instead.
        """
        ...


@runtime_checkable
class LiveTranscriber(Protocol):
    """Live captions: audio frames in, transcript deltas and one final text out per utterance.

    The agent enters it (`async with`) when it starts and leaves it when it stops.
    """

    async def __aenter__(self) -> Any:
        """Connect or load the model."""
        ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        """Disconnect or unload."""
        ...

    def transcribe(
        self, source: AsyncIterable[Any]
    ) -> AsyncIterator[TranscriptDelta | TranscriptFinal]:
        """Transcribe one utterance's frames as they arrive; ends after its `TranscriptFinal`."""
        ...
