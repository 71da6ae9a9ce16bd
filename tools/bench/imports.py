"""Measurement 2 (second half): import time, voxagent vs pydantic-ai, in fresh interpreters.

Each contender imports what the turn needs; an empty interpreter (`python -c pass`) is run in the
same rounds and subtracted, so the figures are the imports' own cost.
"""

from __future__ import annotations

import subprocess
import time

from common import PYTHON, ROOT, Row, median, ms

COMMANDS = {
    "empty": "pass",
    "voxagent": "from voxagent import Agent, tool",
    "pydantic_ai": (
        "from pydantic_ai import Agent, BinaryContent; "
        "from pydantic_ai.models.openai import OpenAIChatModel; "
        "from pydantic_ai.providers.openai import OpenAIProvider"
    ),
}


def measure(repeats: int) -> dict[str, list[float]]:
    """Wall seconds per fresh interpreter, round-robin, after one warm-up round."""
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for round_ in range(repeats + 1):
        for name, code in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run([PYTHON, "-c", code], check=True, cwd=ROOT)
            if round_:
                times[name].append(time.perf_counter() - started)
    return times


def rows(times: dict[str, list[float]]) -> list[Row]:
    """The table row for the import comparison."""
    empty = median(times["empty"])
    vox = median(times["voxagent"]) - empty
    peer = median(times["pydantic_ai"]) - empty
    return [
        Row(
            2,
            "Peer: import time, voxagent / pydantic-ai (what the turn needs, fresh interpreter)",
            f"voxagent {ms(vox)}, pydantic-ai {ms(peer)} (interpreter start {ms(empty)} "
            f"subtracted); ratio **{vox / peer:.2f}**, n={len(times['empty'])}",
            "ratio < 1",
            vox / peer < 1,
        )
    ]


if __name__ == "__main__":
    print(rows(measure(3)))
