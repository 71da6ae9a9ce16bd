"""Speech out: the agent's text spoken sentence by sentence while it streams.

A speaker hook (`Agent(speaker=...)`, any async `(text) -> None`) hears each sentence as soon as the
model has finished writing it, not the whole answer after the turn: the first words come out while
the rest is still being generated. `SpeechOut` keeps one queue per turn, speaks one item at a time
in order, and lives in the turn's cancel scope, so a barge-in stops the current sentence at once
(the speaker is cancelled) and drops the rest. The slow-tool notice and spoken questions go
through the same queue, so nothing talks over anything else and a finishing tool cannot cut a
notice off.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["SentenceSplitter", "SpeechOut"]

logger = logging.getLogger("voxagent.agent")

Speaker = Callable[[str], Awaitable[None]]

# A sentence ends at one of these followed by white space (or the end of the text).
_STOPS = ".!?\u2026\u3002\uff01\uff1f"  # . ! ? and the ellipsis, CJK full stop, ! and ?
_CLOSERS = "\"')\\]\u00bb\u201d\u2019"  # quotes and brackets that may follow the stop
_END = re.compile(f"[{_STOPS}]+[{_CLOSERS}]*(?=\\s)|[\u3002\uff01\uff1f]|\n+")
# Words after which a full stop usually is not the end of a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st sr jr vs etc e.g i.e approx no fig mt ca cf".split()
)
# A sentence this long is spoken at its last comma or space instead of waiting for its end.
MAX_SENTENCE_CHARS = 220


class SentenceSplitter:
    """Cut streamed text into sentences, each given out as soon as it is complete.

    A sentence ends at `.`, `!`, `?` or `…` followed by white space, at CJK sentence marks, or
    at a line break; a full stop after a common abbreviation ("Dr.", "e.g.") or a single letter
    does not end one. A run longer than `MAX_SENTENCE_CHARS` is cut at its last comma or space.
    """

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        """Add streamed text; return the sentences it completed (stripped, non-empty)."""
        self._buffer += text
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            if match.group().startswith(".") and _abbreviation_before(self._buffer, match.start()):
                continue
            sentence = self._buffer[start : match.end()].strip()
            if sentence:
                sentences.append(sentence)
            start = match.end()
        self._buffer = self._buffer[start:]
        while len(self._buffer) > MAX_SENTENCE_CHARS:
            head = self._buffer[:MAX_SENTENCE_CHARS]
            cut = max(head.rfind(","), head.rfind(" "))
            cut = cut + 1 if cut > 0 else MAX_SENTENCE_CHARS
            sentences.append(self._buffer[:cut].strip())
            self._buffer = self._buffer[cut:]
        return [s for s in sentences if s]

    def flush(self) -> str | None:
        """The unfinished rest (the text ended without a full stop), if any."""
        rest, self._buffer = self._buffer.strip(), ""
        return rest or None


def _abbreviation_before(text: str, dot: int) -> bool:
    word = re.search(r"(\S+)$", text[:dot])
    if word is None:
        return False
    token = word.group(1).lower().lstrip("(\"'")
    return (len(token) == 1 and token.isalpha()) or token in _ABBREVIATIONS


class SpeechOut:
    """One turn's speech: a queue of texts spoken in order by the speaker hook.

    Run `run()` in the turn's task group; feed it with `text` (streamed deltas), `message`
    (a whole answer that did not stream), `say` (a notice: queued, not waited for) and `speak`
    (queued and waited for: a question that needs an answer); `finish()` speaks what is left
    and waits. A failing speaker stops the speech for the rest of the turn; the failure is kept
    in `error` for the caller to report once the turn is recorded.

    Args:
        speaker: The hook that speaks one text.
    """

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker
        self.error: Exception | None = None
        self._splitter = SentenceSplitter()
        self._send, self._receive = anyio.create_memory_object_stream[
            tuple[str, anyio.Event | None]
        ](max_buffer_size=math.inf)
        self._streamed = False

    async def run(self) -> None:
        """Speak queued texts until `finish` closes the queue (cancel it to stop at once)."""
        async with self._receive:
            async for text, spoken in self._receive:
                try:
                    if self.error is None:
                        await self.speaker(text)
                except Exception as exc:
                    logger.warning("the speaker failed: %s", exc)
                    self.error = exc
                finally:
                    if spoken is not None:
                        spoken.set()

    def _queue(self, text: str, spoken: anyio.Event | None = None) -> None:
        try:
            self._send.send_nowait((text, spoken))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            if spoken is not None:
                spoken.set()  # the turn is over: nobody will speak it

    def text(self, delta: str) -> None:
        """A streamed piece of the answer: complete sentences are queued."""
        self._streamed = True
        for sentence in self._splitter.feed(delta):
            self._queue(sentence)

    def message(self, text: str) -> None:
        """A whole assistant message: queued unless its deltas were already streamed."""
        if not self._streamed:
            self.text(text)
        self._end_message()

    def _end_message(self) -> None:
        rest = self._splitter.flush()
        if rest is not None:
            self._queue(rest)
        self._streamed = False

    async def say(self, text: str) -> None:
        """Queue a text without waiting for it (a notice)."""
        if text.strip():
            self._queue(text)

    async def speak(self, text: str) -> None:
        """Queue a text and wait until it has been spoken (after everything queued before it)."""
        if not text.strip():
            return
        spoken = anyio.Event()
        self._queue(text, spoken)
        await spoken.wait()
        if self.error is not None:
            raise self.error

    async def finish(self) -> None:
        """Queue what is left of the text and close the queue (`run` then ends when spoken)."""
        self._end_message()
        self._send.close()

    def close(self) -> None:
        """Close the queue without speaking the rest (the turn failed or was cancelled)."""
        self._send.close()
