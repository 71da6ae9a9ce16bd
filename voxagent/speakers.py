"""Speaker hooks: turn the agent's text into speech.

A speaker is any async callable `(text) -> None`; pass it as `Agent(speaker=...)`. `EspeakSpeaker`
is a tiny one built on the espeak-ng program (Debian/Ubuntu: `apt install espeak-ng`), good enough
for demos; plug in any TTS the same way.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

import anyio

from voxagent.errors import ConfigurationError

__all__ = ["EspeakSpeaker"]


class EspeakSpeaker:
    """Speak text aloud with espeak-ng.

    Args:
        voice: An espeak-ng voice, e.g. "en", "fr", "de".
        words_per_minute: Speaking rate.
        executable: The espeak-ng program (default: found on PATH).
        extra_args: More espeak-ng arguments (e.g. ["-w", "out.wav"] to write a file instead).
    """

    def __init__(
        self,
        voice: str = "en",
        *,
        words_per_minute: int = 175,
        executable: str | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        found = executable or shutil.which("espeak-ng")
        if found is None:
            raise ConfigurationError(
                "espeak-ng is not installed, so the agent cannot speak",
                hint="install it (`apt install espeak-ng`), or pass another speaker",
            )
        self.command = [found, "-v", voice, "-s", str(words_per_minute), *extra_args]

    async def __call__(self, text: str) -> None:
        """Speak `text`; returns when it has been spoken. Cancelling stops the speech."""
        if text.strip():
            # The text goes on stdin, never through a shell: model output is not a command line.
            await anyio.run_process([*self.command, "--stdin"], input=text.encode(), check=False)
