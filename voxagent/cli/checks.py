"""Refusals before anything starts: no server to talk to, an unknown tool, an unwritable
`--save` path, no microphone. Each says, in command-line terms, what to give instead."""

from __future__ import annotations

from pathlib import Path

from voxagent.cli.exits import UsageError
from voxagent.distribution import pip_install
from voxagent.errors import AudioError

__all__ = ["check_input_device", "check_save_path", "check_server_choice", "check_tool_choice"]


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
    from voxagent.serve.server import find_vllm  # lazy: httpx, only when no URL is given

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


def check_input_device() -> None:
    """Fail early, with the right hint, when the sound system lists no microphone at all.

    Raises:
        AudioError: No input device.
    """
    from voxagent.audio import list_input_devices  # lazy: PortAudio, only with a microphone

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
