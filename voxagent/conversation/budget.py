"""What a request may hold: the audio-item limit, the token budget, and how tokens are counted.

Audio is counted the way Voxtral's encoder sees it: 12.5 tokens per second, each clip zero-padded
to a multiple of 30 s, plus one [BEGIN_AUDIO] token. Text is counted by a `TokenCounter`: the
model's own Tekken tokenizer when its file is at hand (`tekken_counter`), else `estimate_tokens`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from voxagent.errors import ConfigurationError

__all__ = [
    "AUDIO_CHUNK_S",
    "AUDIO_TOKENS_PER_CHUNK",
    "Budget",
    "TokenCounter",
    "audio_tokens",
    "estimate_tokens",
    "tekken_counter",
    "tools_tokens",
]

AUDIO_CHUNK_S = 30.0
"""Voxtral pads every clip to a multiple of this many seconds."""

AUDIO_TOKENS_PER_CHUNK = 375
"""12.5 audio tokens per second times 30 s."""

_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[^\W\d_]+")
_PUNCTUATION = re.compile(r"[^\w\s]|_")


class TokenCounter(Protocol):
    """Counts the tokens of a piece of text: `(text) -> int`."""

    def __call__(self, text: str, /) -> int:
        """Return how many tokens `text` costs."""
        ...


def estimate_tokens(text: str, /) -> int:
    """Estimate the Tekken tokens of `text` without the tokenizer file.

    Basis: Tekken splits every digit into its own token, averages 4 to 4.5 UTF-8 bytes per token
    on English and French prose, and gives most punctuation its own token (about 2.4 bytes per
    token on compact JSON); measured with the 131k-entry vocabulary that ships in
    mistral_common. The estimate is the larger of (one token per digit plus one per 3 other
    bytes) and (one per word, digit and punctuation mark): 0-50 % over on prose, close on JSON.
    It can under-count random identifiers and emoji; `Budget.reserve_tokens` absorbs such
    errors, and `tekken_counter` gives exact counts.

    Args:
        text: Any text.

    Returns:
        The estimated token count (0 for empty text).
    """
    digits = len(_DIGIT.findall(text))
    by_bytes = digits + math.ceil((len(text.encode("utf-8")) - digits) / 3)
    by_pieces = digits + len(_WORD.findall(text)) + len(_PUNCTUATION.findall(text))
    return max(by_bytes, by_pieces)


def tekken_counter(path: str | Path) -> TokenCounter:
    """Return a counter that uses the model's own Tekken tokenizer file (exact counts).

    Args:
        path: The model's `tekken.json`.

    Raises:
        ConfigurationError: The file cannot be read as a Tekken tokenizer.
    """
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    try:
        tokenizer = Tekkenizer.from_file(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigurationError(
            f"Cannot load the Tekken tokenizer {path}: {error}",
            hint="Pass the model directory's tekken.json, or leave the counter unset to estimate.",
        ) from error

    def count(text: str, /) -> int:
        return len(tokenizer.encode(text, bos=False, eos=False))

    return count


def audio_tokens(duration_s: float) -> int:
    """Return what a clip of `duration_s` seconds costs: 1 + 375 tokens per started 30 s."""
    chunks = max(1, math.ceil(duration_s / AUDIO_CHUNK_S - 1e-9))
    return 1 + AUDIO_TOKENS_PER_CHUNK * chunks


def tools_tokens(tools: list[dict[str, Any]] | None, counter: TokenCounter) -> int:
    """Return what the tools' schemas cost in the prompt ([AVAILABLE_TOOLS] ... block)."""
    if not tools:
        return 0
    # mistral_common re-serialises the schemas; a small margin covers its extra keys.
    return counter(json.dumps(tools, ensure_ascii=False)) + 2 + 4 * len(tools)


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits one rendered request must respect.

    Attributes:
        max_audio_items: Most audio parts per request (vLLM allows 5 for Voxtral by default;
            a server started with `--limit-mm-per-prompt '{"audio": N}'` allows N).
        max_tokens: The server's `max_model_len`; None means no token limit.
        reserve_tokens: Room kept free for the answer.
        counter: Counts text tokens; None uses `estimate_tokens`.
        compaction_step: How many older clips become text at once when a request would carry
            more than `max_audio_items`; None: about half the limit (3 of 5). Compacting in
            steps keeps the requests between two compactions extensions of one byte-stable
            prefix, which the server's prefix cache serves instead of computing it again.
        compaction_margin: When the token limit forces compaction, the share of the room
            (`max_tokens - reserve_tokens - tools`) freed beyond the limit, for the same reason.
    """

    max_audio_items: int = 5
    max_tokens: int | None = None
    reserve_tokens: int = 1024
    counter: TokenCounter | None = None
    compaction_step: int | None = None
    compaction_margin: float = 0.25

    def __post_init__(self) -> None:
        if self.max_audio_items < 1:
            raise ConfigurationError(
                f"Budget.max_audio_items must be at least 1, got {self.max_audio_items}",
                hint="The newest spoken turn always travels as audio; allow at least one item.",
            )
        if self.reserve_tokens < 0:
            raise ConfigurationError(
                f"Budget.reserve_tokens must not be negative, got {self.reserve_tokens}",
                hint="Use 0 or more tokens of room for the answer.",
            )
        if self.compaction_step is not None and not (
            1 <= self.compaction_step <= self.max_audio_items
        ):
            raise ConfigurationError(
                f"Budget.compaction_step must be 1..max_audio_items, got {self.compaction_step}",
                hint="1 compacts one clip at a time; None picks about half the audio limit.",
            )
        if not 0.0 <= self.compaction_margin < 1.0:
            raise ConfigurationError(
                f"Budget.compaction_margin must be in [0, 1), got {self.compaction_margin}",
                hint="0 compacts only what the limit requires; 0.25 frees a quarter more.",
            )

    @property
    def step(self) -> int:
        """Clips compacted at once when the audio limit is exceeded."""
        if self.compaction_step is not None:
            return self.compaction_step
        return max(1, (self.max_audio_items + 1) // 2)

    @property
    def count(self) -> TokenCounter:
        """The counter in use (`estimate_tokens` when none was given)."""
        return self.counter if self.counter is not None else estimate_tokens
