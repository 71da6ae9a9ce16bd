"""What rendering a conversation costs as it grows: before and after, side by side in one run.

A spoken conversation (2 s audio turns with a transcript, an answer after each, a tool call and
its result every fifth turn) is built turn by turn the way the agent does it: render after each
user turn. Then, for each of `--rounds` more turns, one user turn is added and timed:
- `render`: `conversation.render(VLLM, budget=...)` alone (the chat request);
- `per turn`: `audio_to_transcribe` (the transcript prefetch: two look-ahead plans) and then the
  render, which is what the agent spends on the conversation per spoken turn.

Each code tree runs in its own interpreter (`PYTHONPATH` pointing at it), the trees interleaved
round by round so that noise from other processes hits them alike. Figures are medians.

Usage:
    python tools/bench/render.py --base /work/base            # base tree vs this checkout
    python tools/bench/render.py --base /work/base --turns 50 200 --rounds 41
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _wav(seconds: float, seed: int) -> bytes:
    frames = int(16000 * seconds)
    # Deterministic non-silent samples without numpy (the child interpreter stays light).
    samples = bytearray()
    value = seed * 7919 + 1
    for _ in range(frames):
        value = (value * 1103515245 + 12345) & 0x7FFFFFFF
        samples += ((value >> 16) % 2000 - 1000).to_bytes(2, "little", signed=True)
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(bytes(samples))
    return out.getvalue()


def _child(turns: int, rounds: int) -> dict[str, Any]:
    """Run in the interpreter of one code tree: time renders of a `turns`-turn conversation."""
    from voxagent.audio.clip import AudioClip
    from voxagent.conversation import Budget, Conversation

    try:
        from voxagent.client.dialects import VLLM
        from voxagent.client.types import ToolCall
    except ImportError:  # the tree before voxagent/model/ was split
        from voxagent.model.dialects import VLLM  # type: ignore[no-redef]
        from voxagent.model.types import ToolCall  # type: ignore[no-redef]

    wav = _wav(2.0, 1)
    budget = Budget(max_audio_items=5, max_tokens=32768)
    conversation = Conversation("You control the lights in the house. Be brief.")

    def one_turn(index: int, prefetch: bool) -> float:
        # A fresh clip object per turn, as from a microphone (its base64 is encoded once).
        clip = AudioClip(wav, "wav", 2.0)
        conversation.add_user(audio=clip, transcript=f"please switch light number {index} on")
        started = time.perf_counter()
        if prefetch:
            conversation.audio_to_transcribe(budget)
        conversation.render(VLLM, budget=budget)
        elapsed = time.perf_counter() - started
        if index % 5 == 4:
            arguments = json.dumps({"room": f"room {index}", "on": True})
            turn = conversation.add_assistant(
                None, [ToolCall(f"call{index:05d}", "set", arguments)]
            )
            call = turn.tool_calls[0]
            conversation.add_tool_result(call.id, call.name, json.dumps({"ok": True, "n": index}))
        conversation.add_assistant(f"Light {index} is on now.")
        return elapsed

    for index in range(turns):
        one_turn(index, prefetch=True)
    render_s = [one_turn(turns + i, prefetch=False) for i in range(rounds)]
    turn_s = [one_turn(turns + rounds + i, prefetch=True) for i in range(rounds)]
    return {"render": render_s, "turn": turn_s}


def _run_child(tree: Path, turns: int, rounds: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    # -P: the working directory must not shadow the tree under test; this module comes last.
    code = (
        f"import json, sys; sys.path.append({str(ROOT / 'tools' / 'bench')!r}); "
        "import voxagent; assert voxagent.__file__.startswith(sys.argv[1]), voxagent.__file__; "
        f"import render; print(json.dumps(render._child({turns}, {rounds})))"
    )
    out = subprocess.run(
        [sys.executable, "-P", "-c", code, str(tree)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the code tree to compare with")
    parser.add_argument("--turns", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--rounds", type=int, default=41, help="timed turns per conversation")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs per tree")
    args = parser.parse_args()
    trees = {"before": args.base.resolve(), "after": ROOT}
    print(f"before: {trees['before']}\nafter:  {trees['after']}\n")
    print("| spoken turns | render before | render after | per turn before | per turn after |")
    print("|---|---|---|---|---|")
    for turns in args.turns:
        samples: dict[str, dict[str, list[float]]] = {
            name: {"render": [], "turn": []} for name in trees
        }
        for _ in range(args.repeat):
            for name, tree in trees.items():
                got = _run_child(tree, turns, args.rounds)
                samples[name]["render"] += got["render"]
                samples[name]["turn"] += got["turn"]

        def ms(name: str, what: str, of: dict[str, dict[str, list[float]]] = samples) -> str:
            return f"{statistics.median(of[name][what]) * 1000:.3f} ms"

        print(
            f"| {turns} | {ms('before', 'render')} | {ms('after', 'render')} | "
            f"{ms('before', 'turn')} | {ms('after', 'turn')} |"
        )


if __name__ == "__main__":
    main()
