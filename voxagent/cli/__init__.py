"""The `voxagent` command: run an agent, serve a model, transcribe, list devices, check a setup,
evaluate an app on a suite (`voxagent eval`, in voxagent.eval.command).

Exit codes:
    0    success.
    1    runtime failure: the server, the audio (also: no input device for `--mic`), a
         conversation file, a failed turn, or a fatal error event while listening.
    2    usage error: a mistake in the command line (also `--save` into a missing directory).
    N    the app or one of its tools called `sys.exit(N)` (`sys.exit("text")` exits 1).
    130  interrupted (SIGINT/SIGTERM).
    141  stdout was closed (`voxagent run ... | head -1`): the run stops quietly, as Unix tools
         killed by SIGPIPE do (128 + 13), so a pipeline under `set -o pipefail` sees the cut.

Errors are one or two lines on stderr (what failed and why, then `hint:` what to do); `--debug`
shows tracebacks. With `--events jsonl`, stdout carries one JSON object per event and nothing
else (ASCII only), so scripts can pipe it. Everything shown to a person goes through
`voxagent.text.printable` (a model cannot move the cursor or hide text with escape codes), and a
terminal that cannot encode a character gets a replacement character instead of a crash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxagent._lazy import lazy_exports

# name -> the module that defines it (see voxagent._lazy). Only `main` is the command's API (the
# console entry point `voxagent.cli:main`); the others are what tests and the subcommands of
# other packages import from here. Loaded on first use, so that those subcommands can import
# the modules of this package at their top level without a cycle through this `__init__`.
_EXPORTS: dict[str, str] = {
    "check_input_device": "voxagent.cli.checks",
    "check_save_path": "voxagent.cli.checks",
    "check_server_choice": "voxagent.cli.checks",
    "check_tool_choice": "voxagent.cli.checks",
    "main": "voxagent.cli.entry",
    "AppExit": "voxagent.cli.exits",
    "UsageError": "voxagent.cli.exits",
    "err": "voxagent.cli.output",
    "make_output_safe": "voxagent.cli.output",
    "report": "voxagent.cli.output",
    "build_parser": "voxagent.cli.parser",
    "Printer": "voxagent.cli.printer",
    "load_agent": "voxagent.cli.run",
    "text_inputs": "voxagent.cli.run",
    "turn_inputs": "voxagent.cli.run",
}
__all__ = ["main"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

if TYPE_CHECKING:
    from voxagent.cli.checks import (
        check_input_device as check_input_device,
        check_save_path as check_save_path,
        check_server_choice as check_server_choice,
        check_tool_choice as check_tool_choice,
    )
    from voxagent.cli.entry import main as main
    from voxagent.cli.exits import AppExit as AppExit, UsageError as UsageError
    from voxagent.cli.output import (
        err as err,
        make_output_safe as make_output_safe,
        report as report,
    )
    from voxagent.cli.parser import build_parser as build_parser
    from voxagent.cli.printer import Printer as Printer
    from voxagent.cli.run import (
        load_agent as load_agent,
        text_inputs as text_inputs,
        turn_inputs as turn_inputs,
    )
