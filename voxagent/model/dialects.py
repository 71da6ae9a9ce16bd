"""How vLLM and Mistral's hosted API differ on the wire.

Only this module knows which server voxagent talks to: the conversation asks a dialect for an audio
content part, and the client asks it for headers and option names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from voxagent.audio.clip import AudioClip

__all__ = ["MISTRAL", "VLLM", "Dialect"]


@dataclass(frozen=True, slots=True)
class Dialect:
    """One server family's request shape.

    Attributes:
        name: "vllm" or "mistral".
        seed_field: The request field for the sampling seed.
    """

    name: Literal["vllm", "mistral"]
    seed_field: str

    def audio_part(self, clip: AudioClip) -> dict[str, Any]:
        """Return the chat content part that carries `clip`."""
        if self.name == "mistral":
            # Mistral's API takes the base64 string itself, with no format field.
            return {"type": "input_audio", "input_audio": clip.to_base64()}
        return {"type": "input_audio", "input_audio": {"data": clip.to_base64(), "format": clip.format}}


VLLM = Dialect(name="vllm", seed_field="seed")
MISTRAL = Dialect(name="mistral", seed_field="random_seed")
