"""The command line: one argparse parser for every subcommand (eval and web register their own)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from voxagent import __version__
from voxagent.distribution import DISTRIBUTION
from voxagent.eval.command import add_eval_parser
from voxagent.web.command import add_parser as add_web_parser

__all__ = ["build_parser"]


class _AppendInput(argparse.Action):
    """Collect --audio and --text in the order given, as ("audio"|"text", value) pairs."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        inputs = list(getattr(namespace, "inputs", None) or [])
        kind = "audio" if option_string == "--audio" else "text"
        for value in values if isinstance(values, list) else [values]:
            inputs.append((kind, value))
        namespace.inputs = inputs


def _positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    """An argparse type: a finite number greater than zero, in words a person understands."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (0 < value < float("inf")):
            raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="voxagent",
        description="Voice agents on Mistral's Voxtral models.",
        epilog="exit codes: 0 ok, 1 failure, 2 usage error, N sys.exit(N) from the app, "
        "130 interrupted, 141 stdout closed",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument(
        "--version", action="version", version=f"voxagent {__version__} ({DISTRIBUTION})"
    )
    # Not required=True: argparse would then answer `voxagent --bogus` with "the following
    # arguments are required: command" instead of naming the unknown option; main() asks for one.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--base-url", help="server URL ending in /v1 (default: VOXAGENT_BASE_URL)")
        p.add_argument("--model", help="model name as the server serves it")

    run = sub.add_parser("run", help="run an agent from a Python file")
    run.add_argument("app", help="FILE.py or FILE.py:NAME (the Agent object; default: `agent`)")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--mic", action="store_true", help="listen to the microphone")
    run.add_argument("--audio", nargs="+", action=_AppendInput, metavar="FILE", help="audio turns")
    run.add_argument("--text", action=_AppendInput, metavar="TEXT", help="a text turn")
    run.add_argument(
        "--pair",
        action="store_true",
        help="each --text joins the --audio right before it: one turn with both "
        "(as ask(audio=, text=))",
    )
    server_options(run)
    run.add_argument("--tool-choice", help="auto | none | required | TOOL_NAME")
    run.add_argument(
        "--max-tokens", type=_positive(int), metavar="N", help="cap on each answer's tokens"
    )
    run.add_argument(
        "--request-timeout",
        type=_positive(float),
        metavar="SECONDS",
        help="the most one model request may take in all, retries included (default: 300)",
    )
    run.add_argument("--events", choices=["pretty", "jsonl"], default="pretty")
    run.add_argument("--save", metavar="FILE.json", help="save the conversation after each turn")
    run.add_argument("--load", metavar="FILE.json", help="continue a saved conversation")
    run.add_argument(
        "--approve",
        choices=["ask", "always", "never", "prompt"],
        help="approval of confirm=True tools (prompt: ask on this terminal)",
    )
    run.add_argument("--device", help="microphone device (name or index; see `voxagent devices`)")
    run.add_argument(
        "--speak",
        nargs="?",
        const="en",
        metavar="VOICE",
        help="speak answers aloud with espeak-ng (VOICE: an espeak-ng voice; default en)",
    )
    run.add_argument(
        "--no-speculate",
        action="store_true",
        help="with --mic, wait for the decided end of a turn before sending it to the model",
    )
    run.add_argument(
        "--captions-model",
        metavar="MODEL",
        help="live captions with --mic from a Voxtral Realtime server serving MODEL",
    )
    run.add_argument("--captions-url", metavar="URL", help="that server's /v1 URL")
    run.add_argument(
        "--transcribe-url",
        metavar="URL",
        help="the /v1 URL of a server that transcribes older voice messages for compaction "
        "(one replica itself when --base-url is vllm-router, which cannot pass them)",
    )
    run.set_defaults(inputs=[])

    serve = sub.add_parser("serve", help="start a local vLLM server for a Voxtral model")
    serve.add_argument("model", nargs="?", default="mistralai/Voxtral-Mini-3B-2507")
    serve.add_argument("--port", type=int, help="port (default: a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    serve.add_argument("extra", nargs=argparse.REMAINDER, help="extra `vllm serve` arguments")

    tr = sub.add_parser("transcribe", help="transcribe a file, or live captions with --live")
    tr.add_argument("file", nargs="?", help="audio file (omit with --live to use the microphone)")
    tr.add_argument("--language", help="ISO 639-1 code, e.g. en, fr")
    tr.add_argument("--live", action="store_true", help="stream to a Voxtral Realtime server")
    tr.add_argument(
        "--progress",
        action="store_true",
        help="show elapsed time on stderr also when it is not a terminal (always on a terminal)",
    )
    server_options(tr)

    sub.add_parser("devices", help="list audio input devices")

    doctor = sub.add_parser(
        "doctor",
        help="check the server, the model, tools and audio (exit 0: every required check passed)",
    )
    server_options(doctor)
    doctor.add_argument(
        "--mic", action="store_true", help="require a microphone (else a missing one is a warning)"
    )
    add_eval_parser(sub)
    add_web_parser(sub)
    return parser
