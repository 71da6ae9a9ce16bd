"""`voxagent doctor`: check that a Voxtral setup can work, one line per check."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass

from voxagent.distribution import pip_install
from voxagent.errors import VoxagentError
from voxagent.settings import ModelSettings
from voxagent.tools import tool

__all__ = ["Check", "run_checks"]


@tool
def probe(ok: bool) -> bool:
    """Connectivity probe.

    Args:
        ok: Always true: that the call arrives is the check.
    """
    return ok


# Declared like any app's tool (the server is asked to call it, never to run it).
_PROBE_TOOL = probe.to_openai()


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str
    hint: str | None = None
    required: bool = True  # a failed check that is not required is a warning


def _print(check: Check) -> None:
    mark = "ok  " if check.ok else "FAIL" if check.required else "warn"
    print(f"[{mark}] {check.name}: {check.detail}", flush=True)
    if check.hint and not check.ok:
        print(f"       hint: {check.hint}", flush=True)


async def server_checks(base_url: str | None, model: str | None) -> list[Check]:
    """Check the server: reachable, model served, max_model_len, tool calling enabled."""
    if not base_url:
        return [
            Check(
                "server",
                False,
                "no server URL",
                "pass --base-url http://HOST:PORT/v1 or set VOXAGENT_BASE_URL "
                "(start one with `voxagent serve`)",
            )
        ]
    from voxagent.client import ModelClient  # lazy: httpx

    checks: list[Check] = []
    try:
        async with ModelClient(base_url, model=model) as client:
            info = await client.resolve_model()
            checks.append(
                Check("server", True, f"{client.base_url} reachable ({client.dialect.name})")
            )
            checks.append(
                Check("model", True, f"{info.id} served, max_model_len={info.max_model_len}")
            )
            try:
                # A named tool_choice only works when the server parses tool calls
                # (vLLM: --enable-auto-tool-choice --tool-call-parser mistral).
                response = await client.chat(
                    [{"role": "user", "content": "Call probe with ok=true."}],
                    tools=[_PROBE_TOOL],
                    settings=ModelSettings(tool_choice="probe", temperature=0.0, max_tokens=32),
                )
                ok = bool(response.tool_calls)
                checks.append(
                    Check(
                        "tool calling",
                        ok,
                        "enabled" if ok else "the server answered without a tool call",
                        "start vLLM with --enable-auto-tool-choice --tool-call-parser mistral",
                    )
                )
            except VoxagentError as exc:
                checks.append(
                    Check(
                        "tool calling",
                        False,
                        exc.message,
                        "start vLLM with --enable-auto-tool-choice --tool-call-parser mistral",
                    )
                )
    except VoxagentError as exc:
        checks.append(Check("server", False, exc.message, exc.hint))
    return checks


def audio_checks(*, mic: bool = False) -> list[Check]:
    """Check the audio libraries and the microphone (required only with `mic`)."""
    checks: list[Check] = []
    for module, why in (("soundfile", "audio files"), ("soxr", "resampling")):
        found = importlib.util.find_spec(module) is not None
        checks.append(
            Check(
                module,
                found,
                f"{why}: {'installed' if found else 'missing'}",
                f"{pip_install()} (it is a core dependency)",
            )
        )
    try:
        from voxagent.audio import list_input_devices  # lazy: PortAudio

        devices = list_input_devices()
        checks.append(
            Check(
                "microphone",
                bool(devices),
                f"{len(devices)} input device(s)" if devices else "no input device",
                "plug in a microphone, or check PulseAudio/ALSA (`voxagent devices`); files "
                "and --text work without one",
                required=mic,
            )
        )
    except VoxagentError as exc:
        checks.append(Check("microphone", False, exc.message, exc.hint, required=mic))
    from voxagent.audio.segmentation import describe_detector  # lazy: numpy

    ok, detail, hint = describe_detector()
    checks.append(Check("turn detector", ok, detail, hint, required=False))
    return checks


async def run_checks(base_url: str | None, model: str | None, *, mic: bool = False) -> bool:
    """Run every check, print one line each, and return True when every required one passed.

    The microphone is required only with `mic` (a machine that runs files needs none); without
    it, a missing microphone is a warning.
    """
    checks = await server_checks(base_url, model)
    checks += audio_checks(mic=mic)
    for check in checks:
        _print(check)
    failed = [c for c in checks if not c.ok and c.required]
    warned = [c for c in checks if not c.ok and not c.required]
    passed = len(checks) - len(failed) - len(warned)
    summary = f"{passed} passed, {len(failed)} failed"
    print(summary + (f", {len(warned)} warning(s)" if warned else ""), file=sys.stderr)
    return not failed
