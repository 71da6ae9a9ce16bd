"""`voxagent transcribe FILE`: a file's text; with `--live`, captions as they are spoken."""

from __future__ import annotations

import argparse
import os
from typing import Any

import anyio

from voxagent.cli.checks import check_input_device
from voxagent.cli.exits import EXIT_OK, UsageError

__all__ = ["cmd_transcribe"]


async def cmd_transcribe(args: argparse.Namespace) -> int:
    base_url = args.base_url or os.environ.get("VOXAGENT_BASE_URL")
    if not base_url:
        raise UsageError("transcribe needs --base-url or VOXAGENT_BASE_URL")
    if args.live:
        # lazy: websockets, only with --live
        from voxagent.realtime.transcriber import RealtimeTranscriber, print_live_captions

        source: Any
        if args.file:
            from voxagent.audio import AudioFile  # lazy: soundfile

            source = AudioFile(args.file, realtime=True)
        else:
            from voxagent.audio import Microphone  # lazy: sounddevice

            await anyio.to_thread.run_sync(check_input_device)
            source = Microphone()
        if not args.model:
            raise UsageError("--live needs --model (the Realtime model's served name)")
        async with RealtimeTranscriber(base_url, args.model) as transcriber:
            await print_live_captions(source, transcriber)
        return EXIT_OK
    if not args.file:
        raise UsageError("transcribe needs a FILE (or --live)")
    # lazy: soundfile and httpx load for this command only
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
