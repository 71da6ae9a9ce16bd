"""`voxagent serve MODEL`: start a local vLLM server and print its URL until Ctrl-C."""

from __future__ import annotations

import argparse

import anyio

from voxagent.cli.exits import EXIT_OK
from voxagent.cli.output import err

__all__ = ["cmd_serve"]


async def cmd_serve(args: argparse.Namespace) -> int:
    from voxagent.serve.server import VLLMServer  # lazy: httpx

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
