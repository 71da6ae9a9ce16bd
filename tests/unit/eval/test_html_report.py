"""The HTML report opened in a real headless Chromium: the page renders and the charts are drawn.

`--dump-dom` gives the page after its load handler counted the chart marks with a non-empty
layout box; `--screenshot` gives the pixels, where both columns' bar colours must appear.
Chromium is a Debian package installed by tools/test.sh; with CI set, its absence fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voxagent.eval.outcomes import ActualCall, TurnOutcome
from voxagent.eval.report import build_report
from voxagent.eval.report_html import render_html
from voxagent.eval.suite import Suite
from voxagent.eval.suite_format import ExpectSpec, PerturbationSpec as Perturb

TOOLS = ["set_light", "set_thermostat", "start_timer"]
AUDIO_BLUE = (0x25, 0x63, 0xEB)
CASCADE_ORANGE = (0xEA, 0x58, 0x0C)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI: chromium is missing (tools/test.sh installs the Debian package)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _outcome(column: str, n: int, expect: dict[str, Any], calls: list[ActualCall]) -> TurnOutcome:
    return TurnOutcome(
        run_id=f"case{n}", case_id=f"case{n}", column=column, turn=0, take="", variant="clean",
        tags=("lang=en" if n % 2 else "lang=fr", "perturb=clean"), audio=f"/audio/<b>{n}</b>.wav",
        text=None, expect=ExpectSpec.model_validate(expect), calls=tuple(calls),
        answer="<script>alert(1)</script>", timings={"total": 0.2 + n / 10, "first_token": 0.1},
        usage={"total_tokens": 100},
    )  # fmt: skip


def report(tmp_path: Path) -> dict[str, Any]:
    light = {"calls": [{"tool": "set_light", "args": {"room": "kitchen"}}]}
    heat = {"calls": [{"tool": "set_thermostat"}]}
    outcomes = []
    for n in range(6):
        right = ActualCall("set_light", {"room": "kitchen"})
        outcomes.append(_outcome("audio", n, light, [right]))
        outcomes.append(_outcome("cascade", n, light, [right]))
    outcomes.append(_outcome("audio", 7, heat, [ActualCall("start_timer", {})]))
    outcomes.append(_outcome("cascade", 7, heat, [ActualCall("set_thermostat", {})]))
    suite = Suite(tmp_path / "s.toml", "<i>suite</i>", None, 0, 0.0, None, 1, None, {}, Perturb())
    return build_report(
        suite, outcomes, columns=["audio", "cascade"], tools=TOOLS, variants=["clean"],
        runs=7, model="m", base_url="u", seed=0, dry_tools=True,
    )  # fmt: skip


def _pixels(png: bytes) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into an (h, w, channels) array."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (size,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + size]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + size
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int64)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        kind, row = line[0], np.frombuffer(line[1:], dtype=np.uint8).astype(np.int64)
        cur = np.zeros(stride, dtype=np.int64)
        for x in range(stride):
            a = cur[x - channels] if x >= channels else 0
            c = prev[x - channels] if x >= channels else 0
            b = prev[x]
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            cur[x] = (row[x] + pred) & 0xFF
        out[y], prev = cur, cur
    return out.reshape(height, width, channels)


def test_the_report_renders_in_chromium_with_its_charts(tmp_path: Path) -> None:
    chromium = _chromium()
    page = tmp_path / "report.html"
    page.write_text(render_html(report(tmp_path), page))
    text = page.read_text()
    # Self-contained: nothing is fetched (the only URL is the SVG namespace).
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "<script>alert(1)</script>" not in text and "<b>1</b>" not in text  # escaped
    common = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",  # never share a profile with another run
    ]  # fmt: skip
    dom = subprocess.run(
        [*common, "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    found = re.search(r'data-rendered="([^"]*)"', dom)
    assert found is not None, dom[:500]
    drawn = json.loads(found.group(1).replace("&quot;", '"'))
    assert drawn["f1-chart"] == len(TOOLS) * 2  # a bar per tool and column
    assert drawn["latency-chart"] == 2 * (7 + 2) * 2  # per stage: 7 dots + p50 + p95, x2
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*common, f"--screenshot={shot}", "--window-size=900,700", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    pixels = _pixels(shot.read_bytes())[:, :, :3]
    for colour in (AUDIO_BLUE, CASCADE_ORANGE):
        painted = np.all(pixels == np.array(colour), axis=2).sum()
        assert painted > 200, (colour, painted)  # solid bars, not a stray pixel
