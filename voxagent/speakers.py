"""Speaker hooks: turn the agent's text into speech.

A speaker is any async callable `(text) -> None`; pass it as `Agent(speaker=...)`. `EspeakSpeaker`
is a tiny one built on the espeak-ng program (Debian/Ubuntu: `apt install espeak-ng`), good enough
for demos; plug in any TTS the same way.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence

import anyio

from voxagent.errors import ConfigurationError

__all__ = ["EspeakSpeaker"]

# espeak-ng voice names: letters, digits and a few separators; never an option ("-w FILE").
_VOICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+\-/.]{0,63}")


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
        if not _VOICE.fullmatch(voice):
            raise ConfigurationError(
                f"invalid espeak-ng voice {voice!r}",
                hint="use a voice name such as en, en-us, fr or de (`espeak-ng --voices` lists "
                "them)",
            )
        if not 80 <= words_per_minute <= 500:
            raise ConfigurationError(
                f"invalid speaking rate {words_per_minute} words per minute",
                hint="use 80 to 500 (175 is espeak-ng's default)",
            )
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
