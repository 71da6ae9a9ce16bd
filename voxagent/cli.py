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

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import anyio
import anyio.from_thread
import anyio.lowlevel

from voxagent import __version__
from voxagent.approval import TerminalApproval
from voxagent.distribution import DISTRIBUTION, pip_install
from voxagent.errors import AudioError, VoxagentError
from voxagent.events import ErrorEvent, Event, event_to_dict
from voxagent.text import clean_text, printable

if TYPE_CHECKING:
    from voxagent.agent import Agent

__all__ = ["main"]

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


# ------------------------------------------------------------------ parsing


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


def check_server_choice(base_url: str | None, model: str | None) -> None:
    """Say, in command-line terms, that `run` has no server to talk to (before anything starts).

    Raises:
        UsageError: No URL and no model to start a managed server for, or no vLLM to start.
    """
    if base_url:
        return
    where = (
        "pass --base-url http://HOST:PORT/v1 (or set VOXAGENT_BASE_URL) for a running Voxtral "
        "server, or --base-url https://api.mistral.ai/v1 with MISTRAL_API_KEY set"
    )
    if not model:
        raise UsageError(
            f"no server to talk to: {where}; or --model MODEL to start a local vLLM server "
            f"({pip_install('serve')})"
        )
    from voxagent.serve.server import find_vllm

    if find_vllm() is None:
        raise UsageError(
            f"no server URL, and vLLM is not installed to start one for {model}: {where}; or "
            f"{pip_install('serve')}"
        )


def check_tool_choice(choice: str, tools: list[str]) -> None:
    """Refuse a `--tool-choice` that names no tool of the app (before anything is sent).

    Raises:
        UsageError: Naming the app's tools.
    """
    if choice in ("auto", "none", "required") or choice in tools:
        return
    offered = ", ".join(tools) if tools else "none: the app has no tools"
    raise UsageError(
        f"--tool-choice {choice!r} is neither auto, none, required nor a tool of the app "
        f"(its tools: {offered})"
    )


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
    from voxagent.eval.command import add_eval_parser  # argparse only: light to import

    add_eval_parser(sub)
    from voxagent.web.command import add_parser as add_web_parser

    add_web_parser(sub)
    return parser


# ------------------------------------------------------------------ output


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
        from voxagent import events as ev

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


# ------------------------------------------------------------------ approval


# ------------------------------------------------------------------ commands


def load_agent(spec: str) -> Agent[Any]:
    """Load the Agent object from `FILE.py[:NAME]`."""
    from voxagent.agent import Agent
    from voxagent.app_file import import_app

    module, path_text, name = import_app(spec, UsageError)
    if name:
        found = getattr(module, name, None)
    else:
        found = getattr(module, "agent", None)
        if found is None:
            agents = [v for v in vars(module).values() if isinstance(v, Agent)]
            found = agents[0] if len(agents) == 1 else None
    if not isinstance(found, Agent):
        where = name or "agent"
        raise UsageError(f"{path_text} has no Agent named {where!r} (use FILE.py:NAME)")
    return found


def check_save_path(path: Path) -> None:
    """Refuse a `--save` path that cannot be written, before any turn is spent.

    Raises:
        UsageError: The path is a directory, or its directory does not exist.
    """
    if path.is_dir():
        raise UsageError(
            f"--save {path}: that is a directory; give a file name, e.g. {path / 'chat.json'}"
        )
    directory = path.parent
    if not directory.is_dir():
        raise UsageError(
            f"--save {path}: no such directory {directory}; create it first "
            f"(mkdir -p {directory}) or save somewhere else"
        )


def text_inputs(inputs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Clean `--text` values: argv that is not valid UTF-8 arrives as lone surrogates.

    They become U+FFFD (with a warning) here, where the text enters, instead of failing when the
    conversation is encoded or shown. `--audio` paths are left as they are: the file system
    gives surrogate-escaped names back as the original bytes.
    """
    cleaned = []
    for kind, value in inputs:
        if kind == "text" and clean_text(value) != value:
            err("warning: --text is not valid text in this locale; bad bytes became U+FFFD")
            value = clean_text(value)
        cleaned.append((kind, value))
    return cleaned


def turn_inputs(
    inputs: list[tuple[str, str]], *, pair: bool = False
) -> list[tuple[str | None, str | None]]:
    """The turns `run` asks, as (audio, text) pairs, in the order given.

    One turn per input; with `pair`, a --text joins the --audio right before it into one turn
    (a --text with no audio before it stays a text turn of its own).
    """
    turns: list[tuple[str | None, str | None]] = []
    for kind, value in inputs:
        if kind == "audio":
            turns.append((value, None))
        elif pair and turns and turns[-1][0] is not None and turns[-1][1] is None:
            turns[-1] = (turns[-1][0], value)
        else:
            turns.append((None, value))
    return turns


def check_input_device() -> None:
    """Fail early, with the right hint, when the sound system lists no microphone at all.

    Raises:
        AudioError: No input device.
    """
    from voxagent.audio import list_input_devices

    try:
        devices = list_input_devices()
    except AudioError:
        # No sounddevice, no PortAudio, or a host that cannot list: the microphone reports
        # that itself when it opens, with the fix for that case.
        return
    if not devices:
        raise AudioError(
            "no input device: the sound system lists no microphone to listen to",
            hint="connect or enable a microphone (check with `voxagent devices`), or use "
            "--audio FILE",
        )


async def cmd_run(args: argparse.Namespace, printer: Printer) -> int:
    inputs = text_inputs(args.inputs)
    save = Path(args.save) if args.save else None
    if save is not None:
        check_save_path(save)
    agent = load_agent(args.app)
    if args.base_url:
        agent.base_url = args.base_url
    if args.model:
        agent.model = args.model
    if args.tool_choice:
        check_tool_choice(args.tool_choice, agent.registry.names)
        agent.settings = agent.settings.replace(tool_choice=args.tool_choice)
    if args.max_tokens is not None:
        agent.settings = agent.settings.replace(max_tokens=args.max_tokens)
    if args.request_timeout is not None:
        agent.settings = agent.settings.replace(timeout=args.request_timeout)
    if args.approve:
        agent.approval = TerminalApproval() if args.approve == "prompt" else args.approve
    if args.speak:
        from voxagent.speakers import EspeakSpeaker

        agent.voice = agent.voice.replace(speaker=EspeakSpeaker(args.speak))
    if args.no_speculate:
        agent.voice = agent.voice.replace(speculate=False)
    if args.load:
        from voxagent.conversation import Conversation

        agent._conversation = Conversation.load(args.load)
    if args.captions_model:
        if not args.captions_url:
            raise UsageError("--captions-model needs --captions-url (the Realtime server's URL)")
        from voxagent.realtime.transcriber import RealtimeTranscriber

        transcriber = RealtimeTranscriber(args.captions_url, args.captions_model)
        agent.voice = agent.voice.replace(live_transcriber=transcriber)
    if not args.mic and not inputs:
        raise UsageError("nothing to do: give --mic, --audio FILE or --text TEXT")
    check_server_choice(agent.base_url or os.environ.get("VOXAGENT_BASE_URL"), agent.model)
    if args.mic:
        await anyio.to_thread.run_sync(check_input_device)  # PortAudio may take a while to list
    status = EXIT_OK
    async with agent:
        if args.mic:
            from voxagent.audio import Microphone

            device: int | str | None = args.device
            if isinstance(device, str) and device.isdigit():
                device = int(device)
            err("listening… (Ctrl-C to stop)")
            events = agent.listen(Microphone(device=device))
            try:
                async for event in events:
                    printer(event)
                    if isinstance(event, ErrorEvent) and not event.recoverable:
                        status = EXIT_FAILURE  # listening stopped (the microphone failed)
                    if save is not None and type(event).__name__ == "TurnCompleted":
                        agent.conversation.save(save)
            finally:
                await events.aclose()
        for audio, text in turn_inputs(inputs, pair=args.pair):
            try:
                await agent.ask(audio=audio, text=text, on_event=printer)
            except VoxagentError as exc:
                report(exc)
                status = EXIT_FAILURE
            finally:
                if save is not None:
                    agent.conversation.save(save)
            if status != EXIT_OK:
                break
    return status


async def cmd_serve(args: argparse.Namespace) -> int:
    from voxagent.serve.server import VLLMServer

    extra = [a for a in args.extra if a != "--"]
    started = anyio.current_time()

    def forward(line: str) -> None:
        # vLLM's own lines are the progress (loading, compiling, warming up), timed.
        err(f"[{anyio.current_time() - started:5.0f} s] {line}")

    server = VLLMServer(
        args.model, port=args.port, host=args.host, extra_args=extra, on_progress=forward
    )
    err(f"starting vLLM for {args.model} (this can take minutes while the model loads)…")
    async with server:
        print(server.base_url, flush=True)
        err(f"ready: {server.base_url}  (Ctrl-C to stop)")
        await anyio.sleep_forever()
    return EXIT_OK


async def cmd_transcribe(args: argparse.Namespace) -> int:
    base_url = args.base_url or os.environ.get("VOXAGENT_BASE_URL")
    if not base_url:
        raise UsageError("transcribe needs --base-url or VOXAGENT_BASE_URL")
    if args.live:
        from voxagent.realtime.transcriber import RealtimeTranscriber, print_live_captions

        source: Any
        if args.file:
            from voxagent.audio import AudioFile

            source = AudioFile(args.file, realtime=True)
        else:
            from voxagent.audio import Microphone

            await anyio.to_thread.run_sync(check_input_device)
            source = Microphone()
        if not args.model:
            raise UsageError("--live needs --model (the Realtime model's served name)")
        async with RealtimeTranscriber(base_url, args.model) as transcriber:
            await print_live_captions(source, transcriber)
        return EXIT_OK
    if not args.file:
        raise UsageError("transcribe needs a FILE (or --live)")
    from voxagent.audio import to_clip
    from voxagent.client import ModelClient
    from voxagent.progress import progress

    clip = await anyio.to_thread.run_sync(to_clip, args.file, None)
    async with ModelClient(base_url, model=args.model) as client:
        await client.resolve_model()
        async with progress(f"transcribing {clip.duration_s:.0f} s of audio", force=args.progress):
            text = await client.transcribe(clip, language=args.language)
        print(text, flush=True)
    return EXIT_OK


def cmd_devices() -> int:
    from voxagent.audio import list_input_devices

    devices = list_input_devices()
    if not devices:
        err("no audio input devices found")
        return EXIT_FAILURE
    for device in devices:
        print(device)
    return EXIT_OK


async def cmd_doctor(args: argparse.Namespace) -> int:
    from voxagent.doctor import run_checks

    base_url = args.base_url or os.environ.get("VOXAGENT_BASE_URL")
    ok = await run_checks(base_url, args.model, mic=args.mic)
    return EXIT_OK if ok else EXIT_FAILURE


def report(exc: BaseException) -> None:
    """Print an error for people: one line, plus a hint line when there is one."""
    if isinstance(exc, VoxagentError):
        err(f"error: {exc.message}")
        if exc.hint:
            err(f"  hint: {exc.hint}")
    else:
        err(f"error: {type(exc).__name__}: {exc}")


async def _with_signals(work: Callable[[], Awaitable[int]], printer: Printer) -> int:
    """Run `work`, cancelling it cleanly on SIGINT/SIGTERM (130) or a closed stdout (141)."""
    result = EXIT_INTERRUPTED
    error: BaseException | None = None
    async with anyio.create_task_group() as tg:
        # A closed stdout is noticed inside the agent's callbacks: cancel from there rather than
        # raise through the agent (which would report it as the turn's failure).
        printer.on_closed = tg.cancel_scope.cancel

        async def watch() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    err("interrupted")
                    tg.cancel_scope.cancel()
                    return

        async def run() -> None:
            nonlocal result, error
            try:
                result = await work()
            except Exception as exc:  # re-raised below, outside the task group's exception group
                error = exc
            except SystemExit as exc:  # the app or a tool called sys.exit(): it picks the code
                error = AppExit(exc.code)
            finally:
                tg.cancel_scope.cancel()

        tg.start_soon(watch)
        tg.start_soon(run)
    if printer.closed:
        return EXIT_BROKEN_PIPE  # whatever failed after that was the run being cut short
    if error is not None:
        raise error
    return result


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
                from voxagent.eval.command import cmd_eval

                return await cmd_eval(args)
            case "web":
                from voxagent.web.command import cmd_web

                return await cmd_web(args, err, UsageError)
        raise UsageError(f"unknown command {args.command!r}")

    try:
        code = anyio.run(_with_signals, work, printer)
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


if __name__ == "__main__":
    # `python -m voxagent.cli` runs this file as `__main__`, a second copy of the module: hand over
    # to the imported `voxagent.cli`, whose UsageError is the one subcommands in other modules
    # (voxagent.eval.command) raise.
    from voxagent.cli import main as _main

    _main()
