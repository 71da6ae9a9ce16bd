"""Plain data the model client returns: tool calls, token usage, responses and stream items."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ChatResponse",
    "ModelInfo",
    "StreamDone",
    "StreamItem",
    "TextDelta",
    "ToolCall",
    "ToolCallReady",
    "Usage",
]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call requested by the model.

    Attributes:
        id: The call id as the server sent it (the conversation repairs ids Voxtral would reject).
        name: The function name.
        arguments: The arguments as the raw JSON text the model produced (may be malformed).
    """

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model the server serves, as `/v1/models` describes it.

    Attributes:
        id: The served model name (what requests put in `model`).
        max_model_len: The context length in tokens, when the server reports it (vLLM does).
    """

    id: str
    max_model_len: int | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts reported by the server for one request.

    Attributes:
        prompt_tokens: Tokens of the prompt (history, audio, tool schemas).
        completion_tokens: Tokens generated.
        total_tokens: Both together.
        cached_tokens: Prompt tokens the server took from its prefix cache instead of computing
            them (`usage.prompt_tokens_details.cached_tokens`; vLLM reports it when started with
            `--enable-prompt-tokens-details`, 0 otherwise).
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
            self.cached_tokens + other.cached_tokens,
        )


@dataclass(frozen=True, slots=True)
class ChatResponse:
    """A complete assistant message from one chat completion.

    Attributes:
        text: The assistant's text, or None when it only called tools.
        tool_calls: The tool calls, in the order the model made them.
        finish_reason: `stop`, `tool_calls`, `length`, ... as the server reported it.
        usage: Token usage, when the server reported it.
        model: The model name the server answered with.
        admission_s: Seconds the request waited for a slot of the client's `Admission` limit
            before it was sent (None without one).
    """

    text: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str = ""
    admission_s: float | None = None


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A fragment of assistant text from a streamed response."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallReady:
    """A streamed tool call, ready to dispatch (each call is emitted once).

    Emitted as soon as the call's name is complete and its arguments parse as a JSON object;
    a call not ready by then is emitted when the answer finishes. Switching between calls'
    fragments never emits an unfinished one.

    Attributes:
        index: The call's position in the answer (the order of `ChatResponse.tool_calls`).
        call: The call, its arguments as the model wrote them (repaired of vLLM's artifact).
        truncated: The answer was cut at max_tokens (finish_reason "length") before this call's
            arguments were complete: do not run it, tell the model it was cut off.
    """

    index: int
    call: ToolCall
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class StreamDone:
    """The stream ended; `response` is the whole assistant message, assembled."""

    response: ChatResponse


StreamItem = TextDelta | ToolCallReady | StreamDone
