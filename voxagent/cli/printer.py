"""`Printer`: the events of a run as pretty lines for people or JSON lines for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TextIO

from voxagent import events as ev
from voxagent.events import Event, event_to_dict
from voxagent.text import printable

__all__ = ["Printer"]


class Printer:
    """Writes events: pretty lines for people or JSON lines for scripts.

    Pretty text goes through `printable`, so model-chosen text cannot drive the terminal. When
    the reader of stdout goes away (a closed pipe), the printer stops writing, sets `closed` and
    calls `on_closed` (the CLI cancels the run there) instead of raising into the agent.
    """

    def __init__(
        self, mode: str, out: TextIO | None = None, on_closed: Callable[[], None] | None = None
    ) -> None:
        self.mode = mode
        self._out = out
        self._mid_line = False
        self.closed = False
        self.on_closed = on_closed

    @property
    def out(self) -> TextIO:
        # Looked up at write time, so a redirected sys.stdout (tests, embedding) is honoured.
        return self._out if self._out is not None else sys.stdout

    def __call__(self, event: Event) -> None:
        if self.mode == "jsonl":
            # ensure_ascii: escapes every control character and encodes on any terminal.
            self._write(json.dumps(event_to_dict(event), default=str) + "\n")
            return
        self._pretty(event)

    def _write(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.out.write(text if self.mode == "jsonl" else printable(text))
            self.out.flush()
        except BrokenPipeError:
            self.closed = True
            if self.on_closed is not None:
                self.on_closed()

    def _line(self, text: str) -> None:
        if self._mid_line:
            self._mid_line = False
            text = "\n" + text
        self._write(text + "\n")

    def _pretty(self, event: Event) -> None:
        match event:
            case ev.AssistantTextDelta(text=text):
                self._write(text if self._mid_line else "assistant: " + text)
                self._mid_line = True
            case ev.AssistantMessage():
                if self._mid_line:
                    self._write("\n")
                    self._mid_line = False
            case ev.SpeechStarted(at=at, while_busy=busy):
                self._line(f"[{at:7.2f}s] speech started" + (" (barge-in)" if busy else ""))
            case ev.SpeechEnded(at=at, duration=duration):
                self._line(f"[{at:7.2f}s] speech ended ({duration:.2f} s)")
            case ev.TurnStarted(turn_id=turn_id, has_audio=audio, text=text, speculative=spec):
                what = "audio" + (f" + {text!r}" if text else "") if audio else repr(text)
                self._line(f"turn {turn_id}: {what}" + (" (answer prepared at the pause)" * spec))
            case ev.SpeculationDiscarded(reason=reason):
                self._line(f"  (a reply prepared at the pause was discarded: {reason})")
            case ev.ToolCallStarted(name=name, arguments=arguments):
                self._line(f"  -> {name}({json.dumps(arguments, default=str)})")
            case ev.ToolCallFinished(name=name, result=result, is_error=err, duration=d):
                mark = "error" if err else "ok"
                self._line(f"  <- {name} {mark} ({d * 1000:.0f} ms): {_clip(result)}")
            case ev.ToolStillRunning(name=name, elapsed=elapsed):
                self._line(f"  … {name} still running after {elapsed:.1f} s")
            case ev.ConfirmationRequested(question=question):
                self._line(f"  ? {question}")
            case ev.TurnCompleted(turn_id=turn_id, timings=t):
                self._line(f"turn {turn_id} done in {t.get('total', 0.0):.2f} s " + _stages(t))
            case ev.TurnCancelled(turn_id=turn_id, reason=reason):
                self._line(f"turn {turn_id} cancelled ({reason})")
            case ev.TranscriptDelta(text=text):
                self._write(text)
                self._mid_line = True
            case ev.TranscriptFinal(text=text):
                self._line(f"you said: {text}")
            case ev.AudioOverflow(dropped_frames=n, total_dropped=total):
                self._line(f"warning: {n} audio frames dropped ({total} in all)")
            case ev.ErrorEvent(message=message, hint=hint):
                self._line(f"error: {message}" + (f" (hint: {hint})" if hint else ""))


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _stages(timings: dict[str, float]) -> str:
    shown = [f"{k} {v * 1000:.0f} ms" for k, v in timings.items() if k != "total"]
    return "(" + ", ".join(shown) + ")" if shown else ""
