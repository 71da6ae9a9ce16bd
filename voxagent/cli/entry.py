"""`main`: the entry point of the `voxagent` command (parse, dispatch, turn errors into codes)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import anyio

from voxagent.cli.devices import cmd_devices
from voxagent.cli.doctor import cmd_doctor
from voxagent.cli.exits import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    AppExit,
    UsageError,
)
from voxagent.cli.output import err, make_output_safe, report
from voxagent.cli.parser import build_parser
from voxagent.cli.printer import Printer
from voxagent.cli.run import cmd_run
from voxagent.cli.serve import cmd_serve
from voxagent.cli.signals import run_with_signals
from voxagent.cli.transcribe import cmd_transcribe
from voxagent.errors import VoxagentError
from voxagent.eval.command import cmd_eval
from voxagent.web.command import cmd_web

__all__ = ["main"]


def _leave_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone.

    Python flushes stdout at exit; into a closed pipe that prints "Exception ignored ...
    BrokenPipeError" on stderr, which a quiet exit must not do.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (embedded, tests)
        pass


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the `voxagent` command."""
    make_output_safe()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.error(
                "choose a command: run, serve, transcribe, devices, doctor, eval or web "
                "(`voxagent COMMAND --help` says more)"
            )
    except SystemExit as exc:  # argparse already printed the usage error
        raise SystemExit(EXIT_USAGE if exc.code else EXIT_OK) from None
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    printer = Printer(getattr(args, "events", "pretty"))

    async def work() -> int:
        match args.command:
            case "run":
                return await cmd_run(args, printer)
            case "serve":
                return await cmd_serve(args)
            case "transcribe":
                return await cmd_transcribe(args)
            case "devices":
                return cmd_devices()
            case "doctor":
                return await cmd_doctor(args)
            case "eval":
                return await cmd_eval(args)
            case "web":
                return await cmd_web(args, err, UsageError)
        raise UsageError(f"unknown command {args.command!r}")

    try:
        code = anyio.run(run_with_signals, work, printer)
    except UsageError as exc:
        err(f"usage error: {exc}")
        code = EXIT_USAGE
    except AppExit as exc:
        if exc.text is not None:
            err(f"error: {exc.text}")
        else:
            what = "stopped" if exc.code == 0 else "error"
            err(f"{what}: the app called sys.exit({exc.code}), which ends the whole run")
        if exc.code != 0:
            err("  hint: in a tool, raise ToolError(...) to report a failure to the model instead")
        code = exc.code
    except BrokenPipeError:  # stdout closed while a command printed its result
        code = EXIT_BROKEN_PIPE
    except VoxagentError as exc:
        if args.debug:
            raise
        report(exc)
        code = EXIT_FAILURE
    except KeyboardInterrupt:
        err("interrupted")
        code = EXIT_INTERRUPTED
    except Exception as exc:  # the CLI's last line of defence: one line, not a traceback
        if args.debug:
            raise
        report(exc)
        err("  hint: run again with --debug for the full traceback")
        code = EXIT_FAILURE
    if code in (EXIT_INTERRUPTED, EXIT_BROKEN_PIPE):
        # A sync tool abandoned in its worker thread would keep the interpreter alive until it
        # returns (worker threads are not daemons): after Ctrl-C or a closed stdout, leave now.
        # Everything worth keeping (the --save file) was written before this point.
        if code == EXIT_BROKEN_PIPE:
            _leave_stdout()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # closed: nothing more can reach its reader
                pass
        os._exit(code)
    raise SystemExit(code)
