"""The `voxagent` command: run an agent, serve a model, transcribe, list devices, check a setup.

Exit codes: 0 success, 1 runtime failure, 2 usage error, 130 interrupted. Errors are one or two
lines on stderr; `--debug` shows tracebacks. With `--events jsonl`, stdout carries one JSON object
per event and nothing else, so scripts can pipe it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import anyio

from voxagent.errors import VoxagentError
from voxagent.events import Event, event_to_dict

if TYPE_CHECKING:
    from voxagent.agent import Agent

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A mistake in the command line (exit code 2)."""


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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="voxagent", description="Voice agents on Mistral's Voxtral models."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)

    def server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--base-url", help="server URL ending in /v1 (default: VOXAGENT_BASE_URL)")
        p.add_argument("--model", help="model name as the server serves it")

    run = sub.add_parser("run", help="run an agent from a Python file")
    run.add_argument("app", help="FILE.py or FILE.py:NAME (the Agent object; default: `agent`)")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--mic", action="store_true", help="listen to the microphone")
    run.add_argument("--audio", nargs="+", action=_AppendInput, metavar="FILE", help="audio turns")
    run.add_argument("--text", action=_AppendInput, metavar="TEXT", help="a text turn")
    server_options(run)
    run.add_argument("--tool-choice", help="auto | none | required | TOOL_NAME")
    run.add_argument("--max-tokens", type=int, help="cap on each answer's tokens")
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
    server_options(tr)

    sub.add_parser("devices", help="list audio input devices")

    doctor = sub.add_parser("doctor", help="check the server, the model, tools and audio")
    server_options(doctor)
    return parser


# ------------------------------------------------------------------ output


class Printer:
    """Writes events: pretty lines for people or JSON lines for scripts."""

    def __init__(self, mode: str, out: TextIO | None = None) -> None:
        self.mode = mode
        self._out = out
        self._mid_line = False

    @property
    def out(self) -> TextIO:
        # Looked up at write time, so a redirected sys.stdout (tests, embedding) is honoured.
        return self._out if self._out is not None else sys.stdout

    def __call__(self, event: Event) -> None:
        if self.mode == "jsonl":
            self.out.write(json.dumps(event_to_dict(event), default=str) + "\n")
            self.out.flush()
            return
        self._pretty(event)

    def _line(self, text: str) -> None:
        if self._mid_line:
            self.out.write("\n")
            self._mid_line = False
        self.out.write(text + "\n")
        self.out.flush()

    def _pretty(self, event: Event) -> None:
        from voxagent import events as ev

        match event:
            case ev.AssistantTextDelta(text=text):
                if not self._mid_line:
                    self.out.write("assistant: ")
                self.out.write(text)
                self._mid_line = True
                self.out.flush()
            case ev.AssistantMessage():
                if self._mid_line:
                    self.out.write("\n")
                    self._mid_line = False
            case ev.SpeechStarted(at=at, while_busy=busy):
                self._line(f"[{at:7.2f}s] speech started" + (" (barge-in)" if busy else ""))
            case ev.SpeechEnded(at=at, duration=duration):
                self._line(f"[{at:7.2f}s] speech ended ({duration:.2f} s)")
            case ev.TurnStarted(turn_id=turn_id, has_audio=audio, text=text):
                what = "audio" + (f" + {text!r}" if text else "") if audio else repr(text)
                self._line(f"turn {turn_id}: {what}")
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
                self.out.write(text)
                self._mid_line = True
                self.out.flush()
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


def err(message: str) -> None:
    """Print one line for people on stderr."""
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ commands


def load_agent(spec: str) -> Agent[Any]:
    """Load the Agent object from `FILE.py[:NAME]`."""
    from voxagent.agent import Agent

    path_text, _, name = spec.partition(":")
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"no such file: {path_text}")
    module_spec = importlib.util.spec_from_file_location(f"voxagent_app_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise UsageError(f"cannot import {path_text}: not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    # Registered first, as a normal import would: dataclasses and pydantic look the module up.
    sys.modules[module_spec.name] = module
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
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


async def cmd_run(args: argparse.Namespace, printer: Printer) -> int:
    agent = load_agent(args.app)
    if args.base_url:
        agent.base_url = args.base_url
    if args.model:
        agent.model = args.model
    if args.tool_choice:
        agent.settings = replace(agent.settings, tool_choice=args.tool_choice)
    if args.max_tokens:
        agent.settings = replace(agent.settings, max_tokens=args.max_tokens)
    if args.approve:
        from voxagent.approval import ask_on_terminal

        agent.approval = ask_on_terminal if args.approve == "prompt" else args.approve
    if args.load:
        from voxagent.conversation import Conversation

        agent._conversation = Conversation.load(args.load)
    if args.captions_model:
        if not args.captions_url:
            raise UsageError("--captions-model needs --captions-url (the Realtime server's URL)")
        from voxagent.model.realtime import RealtimeTranscriber

        agent.live_transcriber = RealtimeTranscriber(args.captions_url, args.captions_model)
    if not args.mic and not args.inputs:
        raise UsageError("nothing to do: give --mic, --audio FILE or --text TEXT")
    save = Path(args.save) if args.save else None
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
                    if save is not None and type(event).__name__ == "TurnCompleted":
                        agent.conversation.save(save)
            finally:
                await events.aclose()
        for kind, value in args.inputs:
            try:
                if kind == "audio":
                    await agent.ask(audio=value, on_event=printer)
                else:
                    await agent.ask(text=value, on_event=printer)
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
    from voxagent.model.vllm_server import VLLMServer

    extra = [a for a in args.extra if a != "--"]
    server = VLLMServer(
        args.model, port=args.port, host=args.host, extra_args=extra, on_progress=err
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
        from voxagent.model.realtime import RealtimeTranscriber, print_live_captions

        source: Any
        if args.file:
            from voxagent.audio import AudioFile

            source = AudioFile(args.file, realtime=True)
        else:
            from voxagent.audio import Microphone

            source = Microphone()
        if not args.model:
            raise UsageError("--live needs --model (the Realtime model's served name)")
        async with RealtimeTranscriber(base_url, args.model) as transcriber:
            await print_live_captions(source, transcriber)
        return EXIT_OK
    if not args.file:
        raise UsageError("transcribe needs a FILE (or --live)")
    from voxagent.audio import to_clip
    from voxagent.model import ModelClient

    clip = await anyio.to_thread.run_sync(to_clip, args.file, None)
    async with ModelClient(base_url, model=args.model) as client:
        await client.resolve_model()
        print(await client.transcribe(clip, language=args.language), flush=True)
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

    ok = await run_checks(args.base_url or os.environ.get("VOXAGENT_BASE_URL"), args.model)
    return EXIT_OK if ok else EXIT_FAILURE


def report(exc: BaseException) -> None:
    """Print an error for people: one line, plus a hint line when there is one."""
    if isinstance(exc, VoxagentError):
        err(f"error: {exc.message}")
        if exc.hint:
            err(f"  hint: {exc.hint}")
    else:
        err(f"error: {type(exc).__name__}: {exc}")


async def _with_signals(work: Callable[[], Awaitable[int]]) -> int:
    """Run `work`, cancelling it cleanly on SIGINT/SIGTERM (exit code 130)."""
    result = EXIT_INTERRUPTED
    error: BaseException | None = None
    async with anyio.create_task_group() as tg:

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
            finally:
                tg.cancel_scope.cancel()

        tg.start_soon(watch)
        tg.start_soon(run)
    if error is not None:
        raise error
    return result


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the `voxagent` command."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
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
        raise UsageError(f"unknown command {args.command!r}")

    try:
        code = anyio.run(_with_signals, work)
    except UsageError as exc:
        err(f"usage error: {exc}")
        code = EXIT_USAGE
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
    if code == EXIT_INTERRUPTED:
        # A sync tool abandoned in its worker thread would keep the interpreter alive until it
        # returns (worker threads are not daemons): after Ctrl-C, leave now. Everything worth
        # keeping (the --save file) was written before this point.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
