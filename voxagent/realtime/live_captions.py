"""Live captions on a terminal: one utterance's transcript printed as it grows."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterable
from typing import Any, TextIO

from voxagent.events import TranscriptDelta
from voxagent.interfaces import LiveTranscriber

__all__ = ["print_live_captions"]


async def print_live_captions(
    source: AsyncIterable[Any], transcriber: LiveTranscriber, out: TextIO | None = None
) -> str:
    """Print one utterance's captions to `out` as they arrive; return the final transcript.

    Deltas are written on one line as they come, and the line ends when the utterance does.

    Args:
        source: The utterance's audio frames.
        transcriber: An entered live transcriber (`RealtimeTranscriber`, `MLXTranscriber`).
        out: Where the captions go; None: `sys.stdout` as it is when the call starts (not when
            this module was imported, so a redirected or replaced stdout is honoured).
    """
    if out is None:
        out = sys.stdout
    text = ""
    async for event in transcriber.transcribe(source):
        if isinstance(event, TranscriptDelta):
            out.write(event.text)
            out.flush()
        else:
            text = event.text
    out.write("\n")
    out.flush()
    return text
