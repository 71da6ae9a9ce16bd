"""`voxagent run APP.py`: load the app's agent, then answer the microphone or the given turns."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from voxagent.approval import TerminalApproval
from voxagent.cli.checks import (
    check_input_device,
    check_save_path,
    check_server_choice,
    check_tool_choice,
)
from voxagent.cli.exits import EXIT_FAILURE, EXIT_OK, UsageError
from voxagent.cli.output import err, report
from voxagent.cli.printer import Printer
from voxagent.errors import VoxagentError
from voxagent.events import ErrorEvent
from voxagent.text import clean_text

if TYPE_CHECKING:
    from voxagent.agent import Agent

__all__ = ["cmd_run", "load_agent", "text_inputs", "turn_inputs"]


def load_agent(spec: str) -> Agent[Any]:
    """Load the Agent object from `FILE.py[:NAME]`."""
    # lazy: the agent (and its HTTP stack) loads when a command runs one, not for --help
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
        from voxagent.speakers import EspeakSpeaker  # lazy: only with --speak

        agent.voice = agent.voice.replace(speaker=EspeakSpeaker(args.speak))
    if args.no_speculate:
        agent.voice = agent.voice.replace(speculate=False)
    if args.load:
        from voxagent.conversation import Conversation  # lazy: pydantic, only with --load

        agent._conversation = Conversation.load(args.load)
    if args.captions_model:
        if not args.captions_url:
            raise UsageError("--captions-model needs --captions-url (the Realtime server's URL)")
        # lazy: websockets, only with --captions-model
        from voxagent.realtime.transcriber import RealtimeTranscriber

        transcriber = RealtimeTranscriber(args.captions_url, args.captions_model)
        agent.voice = agent.voice.replace(live_transcriber=transcriber)
    if args.transcribe_url:
        from voxagent.client import ModelClient  # lazy: httpx, as the agent's own client

        # Given unopened: the agent opens and closes it with itself.
        agent.voice = agent.voice.replace(transcriber=ModelClient(args.transcribe_url))
    if not args.mic and not inputs:
        raise UsageError("nothing to do: give --mic, --audio FILE or --text TEXT")
    check_server_choice(agent.base_url or os.environ.get("VOXAGENT_BASE_URL"), agent.model)
    if args.mic:
        await anyio.to_thread.run_sync(check_input_device)  # PortAudio may take a while to list
    status = EXIT_OK
    async with agent:
        if args.mic:
            from voxagent.audio import Microphone  # lazy: sounddevice, only with --mic

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
