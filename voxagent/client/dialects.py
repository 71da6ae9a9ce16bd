"""How vLLM and Mistral's hosted API differ on the wire.

Only this module knows which server voxagent talks to: the conversation asks a dialect for an audio
content part, and the client asks it for headers, option names and endpoint fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from voxagent.audio.clip import AudioClip
from voxagent.client.auth import bearer_headers

__all__ = ["MISTRAL", "VLLM", "Dialect", "detect_dialect"]

_STANDARD_TOOL_CHOICES = frozenset({"auto", "none", "required"})


@dataclass(frozen=True, slots=True)
class Dialect:
    """One server family's request shape.

    Attributes:
        name: "vllm" or "mistral".
        seed_field: The request field for the sampling seed.
        api_key_env: The environment variable holding the API key by convention, when a key is
            required; None when the server runs without one (vLLM unless started with --api-key).
        required_tool_choice: What to send for tool_choice="required".
        stream_usage_option: Whether streamed requests must ask for a usage chunk explicitly
            (`stream_options.include_usage`).
        transcription_token_limit: Whether transcription requests carry `max_completion_tokens`
            (vLLM runs to max_model_len without it; Mistral's API has no such field).
        transcription_model: The model transcriptions use when it differs from the chat model
            (Mistral's API transcribes with its own model); None: the chat model itself (a vLLM
            server serves one Voxtral for both).
    """

    name: Literal["vllm", "mistral"]
    seed_field: str
    api_key_env: str | None = None
    required_tool_choice: str = "required"
    stream_usage_option: bool = True
    transcription_token_limit: bool = True
    transcription_model: str | None = None

    def audio_part(self, clip: AudioClip) -> dict[str, Any]:
        """Return the chat content part that carries `clip`."""
        if self.name == "mistral":
            # Mistral's API takes the base64 string itself, with no format field.
            return {"type": "input_audio", "input_audio": clip.to_base64()}
        part = {"data": clip.to_base64(), "format": clip.format}
        return {"type": "input_audio", "input_audio": part}

    def headers(self, api_key: str | None) -> dict[str, str]:
        """Return the HTTP headers every request carries (Bearer auth when a key is set)."""
        return bearer_headers(api_key)

    def tool_choice(self, choice: str) -> str | dict[str, Any]:
        """Return the wire value for `choice`: "auto", "none", "required", or a tool's name."""
        if choice == "required":
            return self.required_tool_choice
        if choice in _STANDARD_TOOL_CHOICES:
            return choice
        return {"type": "function", "function": {"name": choice}}

    def stream_options(self) -> dict[str, Any]:
        """Return the extra fields a streamed chat request needs."""
        if self.stream_usage_option:
            return {"stream_options": {"include_usage": True}}
        return {}

    def transcription_fields(self, max_completion_tokens: int) -> dict[str, str]:
        """Return the dialect-specific form fields of a transcription request."""
        if self.transcription_token_limit:
            # vLLM: JSON answers, and a cap (it runs to max_model_len without one).
            return {"max_completion_tokens": str(max_completion_tokens), "response_format": "json"}
        return {}


VLLM = Dialect(name="vllm", seed_field="seed")
MISTRAL = Dialect(
    name="mistral",
    seed_field="random_seed",
    api_key_env="MISTRAL_API_KEY",
    # The SDK's enum takes both, but "any" is the spelling every Mistral API version has known.
    required_tool_choice="any",
    # Mistral's API sends usage in the last chunk without being asked.
    stream_usage_option=False,
    # Voxtral 3 (2026-10-20): the hosted batch transcription model; it does not chat.
    transcription_model="voxtral-mini-transcribe-3",
    transcription_token_limit=False,
)


def detect_dialect(base_url: str) -> Dialect:
    """Guess the dialect from a base URL: Mistral's API for api.mistral.ai, vLLM otherwise.

    Args:
        base_url: The server's base URL, for example "http://127.0.0.1:8000/v1".

    Returns:
        `MISTRAL` when the host is api.mistral.ai (or a subdomain of it), else `VLLM`.
    """
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "api.mistral.ai" or host.endswith(".api.mistral.ai"):
        return MISTRAL
    return VLLM
