"""The `voxagent` command's exit codes, and the two exceptions that carry one out of a command."""

from __future__ import annotations

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "AppExit",
    "UsageError",
]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe


class UsageError(Exception):
    """A mistake in the command line (exit code 2)."""


class AppExit(Exception):
    """The app or one of its tools called `sys.exit`: stop the run with its exit code.

    Args:
        code: What `SystemExit` carried: None, an int, or a message (exit code 1).
    """

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code: int = code if isinstance(code, int) else (0 if code is None else 1)
        self.text = None if code is None or isinstance(code, int) else str(code)
