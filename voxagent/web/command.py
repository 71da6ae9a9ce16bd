"""`voxagent web APP.py[:NAME]`: serve the browser demo of an app (see docs/web.md).

Loopback only by default: anyone who can open the page can talk to the agent and so run its
tools. Another address needs `--allow-remote`, prints a warning, and gets a random token when
none is given (`--token` or VOXAGENT_WEB_TOKEN); the token travels in the address's #fragment,
which browsers never send to a server or put in its logs.

This module imports neither starlette nor uvicorn until the command runs, so `voxagent --help`
works without the `web` extra.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import secrets
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import anyio

from voxagent.errors import ConfigurationError

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["TOKEN_ENV", "add_parser", "cmd_web", "is_loopback"]

TOKEN_ENV = "VOXAGENT_WEB_TOKEN"
DEFAULT_PORT = 8765
# Larger messages are refused by the websocket layer itself (close 1009) before they are
# buffered whole; ours are refused one step later with a message that says why.
_WS_MAX_BYTES = 64 * 1024


def add_parser(sub: Any) -> None:
    """Register `web` on the `voxagent` command's subparsers."""
    web = sub.add_parser("web", help="serve a browser page to talk to an agent")
    web.add_argument(
        "app", help="FILE.py or FILE.py:NAME (an Agent, or a function returning a new Agent)"
    )
    web.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    web.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: free)"
    )
    web.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --host to be an address other machines can reach",
    )
    web.add_argument("--token", help=f"access token for the websocket (default: ${TOKEN_ENV})")
    web.add_argument(
        "--base-url", help="model server URL ending in /v1 (default: VOXAGENT_BASE_URL)"
    )
    web.add_argument("--model", help="model name as the server serves it")
    web.add_argument("--tool-choice", help="auto | none | required | TOOL_NAME")
    web.add_argument("--max-tokens", type=int, metavar="N", help="cap on each answer's tokens")
    web.add_argument(
        "--request-timeout", type=float, metavar="SECONDS", help="the most one request may take"
    )
    web.add_argument("--captions-model", metavar="MODEL", help="live captions: realtime model")
    web.add_argument("--captions-url", metavar="URL", help="live captions: that server's /v1 URL")
    web.add_argument(
        "--max-visitors", type=int, default=16, metavar="N", help="visitors at once (default 16)"
    )


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


async def cmd_web(
    args: argparse.Namespace,
    say: Callable[[str], None],
    usage_error: Callable[[str], Exception] = ValueError,
) -> int:
    """Run `voxagent web` until interrupted.

    Args:
        args: The parsed command line.
        say: Prints one line for the operator (stderr).
        usage_error: Makes the exception the command line reports as a usage error (exit 2);
            passed in by `voxagent.cli`, whose class is `__main__`'s own under `python -m`.

    Raises:
        Exception: A mistake in the command line, made by `usage_error`.
        ConfigurationError: The app, the extra or the address cannot be used.
    """
    _require_extra()
    remote = not is_loopback(args.host)
    if remote and not args.allow_remote:
        raise usage_error(
            f"--host {args.host} is not a loopback address: anyone who can reach it could talk "
            "to the agent and run its tools; add --allow-remote to do it anyway (a token is "
            "then required), or forward the port instead (ssh -L)"
        )
    for flag, value in (("--max-visitors", args.max_visitors), ("--max-tokens", args.max_tokens)):
        if value is not None and value < 1:
            raise usage_error(f"{flag} must be at least 1")
    if args.request_timeout is not None and not 0 < args.request_timeout < float("inf"):
        raise usage_error("--request-timeout must be a number of seconds greater than 0")
    if bool(args.captions_model) != bool(args.captions_url):
        raise usage_error("--captions-model and --captions-url go together")
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if remote and token is None:
        token = secrets.token_urlsafe(24)

    from voxagent.web.agents import AgentOverrides, VisitorAgents, load_app

    try:
        source = load_app(args.app)
    except ConfigurationError as exc:
        raise usage_error(f"{exc.message}" + (f" ({exc.hint})" if exc.hint else "")) from None
    agents = VisitorAgents(
        source,
        AgentOverrides(
            base_url=args.base_url,
            model=args.model,
            tool_choice=args.tool_choice,
            max_tokens=args.max_tokens,
            request_timeout=args.request_timeout,
            captions_url=args.captions_url,
            captions_model=args.captions_model,
        ),
    )
    choice = args.tool_choice
    if choice and choice not in ("auto", "none", "required", *agents.tool_names):
        offered = ", ".join(agents.tool_names) or "none: the app has no tools"
        raise usage_error(
            f"--tool-choice {choice!r} is neither auto, none, required nor a tool of the app "
            f"(its tools: {offered})"
        )
    if not (args.base_url or agents.example.base_url or os.environ.get("VOXAGENT_BASE_URL")):
        # Agent(base_url=None) would start a vLLM server of its own for each visitor.
        raise usage_error(
            "no server to talk to: pass --base-url http://HOST:PORT/v1 (or set "
            "VOXAGENT_BASE_URL) for a running Voxtral server (`voxagent serve` starts one), or "
            "--base-url https://api.mistral.ai/v1 with MISTRAL_API_KEY set"
        )

    from voxagent.web.app import LOOPBACK_HOSTS, create_app
    from voxagent.web.visitor import VisitorSettings

    app = create_app(
        agents,
        settings=VisitorSettings(token=token),
        allowed_hosts=None if remote else (*LOOPBACK_HOSTS, args.host.strip("[]")),
        max_visitors=args.max_visitors,
        log=say,
    )
    if not 0 <= args.port <= 65535:
        raise usage_error(f"--port {args.port} is not a port number (0-65535; 0 picks a free one)")
    with _bound(args.host, args.port) as sock:
        port = sock.getsockname()[1]
        shown = f"[{args.host.strip('[]')}]" if ":" in args.host else args.host
        address = f"http://{shown}:{port}/" + (f"#token={token}" if token else "")
        if remote:
            say(
                f"warning: serving on {args.host}, reachable from other machines: whoever opens "
                "the address below can talk to the agent and run its tools"
            )
            say(
                "warning: browsers allow the microphone only on https:// or localhost pages: "
                "put the server behind https, or forward the port (ssh -L) instead"
            )
        say(f"voxagent web: {address}  (Ctrl-C to stop)")
        await _serve(app, sock)
    return 0


def _require_extra() -> None:
    from voxagent.distribution import pip_install

    try:
        import starlette  # noqa: F401  # only checking it is there
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            f"the web page needs the 'web' extra (no module {exc.name!r})",
            hint=pip_install("web"),
        ) from exc


@contextlib.contextmanager
def _bound(host: str, port: int) -> Iterator[socket.socket]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port (0 picks a free one), or check the address is this machine's",
        ) from exc
    try:
        yield sock
    finally:
        sock.close()


async def _serve(app: Starlette, sock: socket.socket) -> None:
    """Serve until cancelled, then shut down gracefully: every visitor's agent is closed."""
    import uvicorn

    class Server(uvicorn.Server):
        # The voxagent command owns SIGINT/SIGTERM (and cancels this task on them): uvicorn
        # must not replace those handlers with its own.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        ws="websockets-sansio",
        ws_max_size=_WS_MAX_BYTES,
        ws_per_message_deflate=False,  # audio does not compress; inflating costs the server
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    server = Server(config)
    finished = anyio.Event()

    async def run() -> None:
        try:
            # Shielded: the server stops through should_exit, which closes the visitors'
            # connections first, rather than by cancellation in the middle of them.
            with anyio.CancelScope(shield=True):
                await server.serve(sockets=[sock])
        finally:
            finished.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        try:
            await anyio.sleep_forever()
        finally:
            server.should_exit = True
            with anyio.CancelScope(shield=True), anyio.move_on_after(15):
                await finished.wait()
            server.force_exit = True
