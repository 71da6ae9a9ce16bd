"""The exceptions voxagent raises, and `ToolError`, which tools raise to talk to the model.

Every `VoxagentError` carries three things a person needs: what failed (the message), why (the
server's or library's own words, in the message), and what to do (`hint`). `str(error)` joins them
into the one or two lines the CLI prints.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AudioError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ContextLengthError",
    "ConversationError",
    "ModelError",
    "ModelNotFoundError",
    "ProtocolError",
    "RateLimitError",
    "RealtimeError",
    "ServerError",
    "ServerUnavailableError",
    "SpeakerError",
    "ToolDefinitionError",
    "ToolError",
    "VoxagentError",
]


class VoxagentError(Exception):
    """Base of every error voxagent raises for people (not for the model).

    Args:
        message: What failed and why, in one line.
        hint: What to do about it, in one line; optional.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigurationError(VoxagentError):
    """The agent, server or CLI was set up in a way that cannot work."""


class ToolDefinitionError(VoxagentError):
    """A function cannot become a tool (bad name, duplicate, unsupported signature)."""


class AudioError(VoxagentError):
    """Audio input cannot be read or used (corrupt, empty, unsupported, no device)."""


class ConversationError(VoxagentError):
    """A conversation cannot be built, saved or loaded (invalid order, tampered file)."""


class ModelError(VoxagentError):
    """The model server failed or refused a request.

    Attributes:
        status_code: The HTTP status, when there was a response.
        server_message: The server's own error text, verbatim.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status_code: int | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.server_message = server_message


class ServerUnavailableError(ModelError):
    """The server could not be reached, or kept failing after every retry."""


class ServerError(ModelError):
    """The server answered with a 5xx status."""


class RateLimitError(ModelError):
    """The server answered 429 after every retry."""


class BadRequestError(ModelError):
    """The server rejected the request (HTTP 400/422)."""


class ContextLengthError(BadRequestError):
    """The request does not fit the model's context (too much audio or text)."""


class AuthenticationError(ModelError):
    """The server refused the credentials (HTTP 401/403)."""


class ModelNotFoundError(ModelError):
    """The server does not serve the requested model (HTTP 404)."""


class ProtocolError(ModelError):
    """The server's answer could not be understood (non-JSON body, malformed SSE stream)."""


class RealtimeError(ModelError):
    """The realtime transcription websocket reported an error.

    Attributes:
        code: The server's error code (for vLLM: invalid_json, invalid_event, model_not_found,
            invalid_audio, model_not_validated, unknown_event, processing_error).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, server_message=server_message)
        self.code = code


class SpeakerError(VoxagentError):
    """The `speaker` hook (text to speech) failed; the answer is recorded, only unspoken.

    Attributes:
        result: The turn's `TurnResult` (the answer that could not be spoken), when known.
    """

    result: Any = None


class ToolError(Exception):
    """Raise inside a tool to tell the model something went wrong.

    The message is sent back to the model as the tool's result (marked as an error) so it can
    correct itself or explain the failure to the user; it never stops the agent.

    Example:
        >>> raise ToolError("No light in the garage; rooms are kitchen and bedroom.")
    """
