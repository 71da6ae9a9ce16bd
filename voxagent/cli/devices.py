"""`voxagent devices`: the audio input devices, one a line."""

from __future__ import annotations

from voxagent.cli.exits import EXIT_FAILURE, EXIT_OK
from voxagent.cli.output import err

__all__ = ["cmd_devices"]


def cmd_devices() -> int:
    from voxagent.audio import list_input_devices  # lazy: PortAudio loads for this command only

    devices = list_input_devices()
    if not devices:
        err("no audio input devices found")
        return EXIT_FAILURE
    for device in devices:
        print(device)
    return EXIT_OK
