"""What the command tells people on stderr: one-line errors and hints, safe to print anywhere.

Everything goes through `voxagent.text.printable` (outsiders' text cannot drive the terminal),
and a terminal that cannot encode a character gets a replacement character instead of a crash.
"""

from __future__ import annotations

import sys

from voxagent.errors import VoxagentError
from voxagent.text import printable

__all__ = ["err", "make_output_safe", "report"]


def err(message: str, end: str = "\n") -> None:
    """Print one line for people on stderr (escaped with `printable`: it may quote outsiders)."""
    try:
        print(printable(message), end=end, file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):  # stderr closed too: nobody is left to tell
        pass


_RAISING = ("strict", "surrogateescape")


def make_output_safe() -> None:
    """Let stdout and stderr replace what their encoding cannot hold instead of raising.

    A latin-1 or ASCII terminal (PYTHONIOENCODING, LANG=C) cannot encode most of what a model
    says; with "strict" errors (or "surrogateescape", Python's choice under the C locale) the
    first such character would end the run.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) in _RAISING:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):  # a closed or unusual stream: leave it alone
                pass


def report(exc: BaseException) -> None:
    """Print an error for people: one line, plus a hint line when there is one."""
    if isinstance(exc, VoxagentError):
        err(f"error: {exc.message}")
        if exc.hint:
            err(f"  hint: {exc.hint}")
    else:
        err(f"error: {type(exc).__name__}: {exc}")
