"""`voxagent doctor`: check the server, the model, tools and audio (voxagent.doctor runs them)."""

from __future__ import annotations

import argparse
import os

from voxagent.cli.exits import EXIT_FAILURE, EXIT_OK

__all__ = ["cmd_doctor"]


async def cmd_doctor(args: argparse.Namespace) -> int:
    from voxagent.doctor import run_checks  # lazy: pydantic, httpx and the audio stack

    base_url = args.base_url or os.environ.get("VOXAGENT_BASE_URL")
    ok = await run_checks(base_url, args.model, mic=args.mic)
    return EXIT_OK if ok else EXIT_FAILURE
