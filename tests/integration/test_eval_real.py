"""`voxagent eval` on the example suite against the real vLLM CPU server (tiny random model).

The numbers are meaningless (random weights); what is proven is the path: the example suite's
espeak-ng takes really go to vLLM as audio, the cascade baseline really calls vLLM's
/v1/audio/transcriptions (counted in the server's own access log), tool calls come back and are
scored, and the JSON and HTML reports are complete. A named tool_choice makes the random model
call a tool (with `auto` it never does); a few cases and a small max_tokens keep it short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "examples" / "eval" / "smart_home.toml"
CASES = ["en.kitchen_on", "fr.what_time", "en.kitchen_on_then_off"]
TRANSCRIBED = '"POST /v1/audio/transcriptions HTTP/1.1" 200'


def _transcriptions(log: Path, *, at_least: int = 0) -> int:
    """Transcription requests vLLM logged (waiting a little for its log to catch up)."""
    for _ in range(50):
        count = log.read_text(errors="replace").count(TRANSCRIBED)
        if count >= at_least:
            return count
        time.sleep(0.2)
    return count


def test_the_example_suite_runs_end_to_end_with_the_cascade_baseline(
    vllm_chat_server: Any, tmp_path: Path
) -> None:
    subprocess.run([sys.executable, "tools/make_eval_audio.py"], cwd=ROOT, check=True)
    before = _transcriptions(vllm_chat_server.log_path)
    report_path, html_path = tmp_path / "report.json", tmp_path / "report.html"
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("VOXAGENT_BASE_URL", None)
    cases = [arg for case in CASES for arg in ("--case", case)]
    done = subprocess.run(
        [
            sys.executable, "-m", "voxagent.cli", "eval", str(SUITE),
            "--base-url", vllm_chat_server.base_url, "--model", vllm_chat_server.model,
            "--baseline", "cascade", "--dry-tools", "--tool-choice", "set_light",
            "--max-tokens", "24", "--concurrency", "2", *cases,
            "--json", str(report_path), "--html", str(html_path),
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=540, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    outcomes = report["outcomes"]
    # 3 cases x 2 takes (clean, noisy) x 2 columns; the two-turn case has 2 turns per run.
    assert report["runs"] == 6 and report["columns"] == ["audio", "cascade"]
    assert len(outcomes) == (1 + 1 + 2) * 2 * 2
    assert [o for o in outcomes if o["error"]] == []
    audio_turns = [o for o in outcomes if o["audio"]]
    assert len(audio_turns) == 12
    for outcome in audio_turns:
        assert Path(outcome["audio"]).is_file()
        assert outcome["take"] in ("espeak", "espeak_brown10dB")
        assert "endpointing" in outcome["timings"] and outcome["timings"]["total"] > 0
    cascade_audio = [o for o in audio_turns if o["column"] == "cascade"]
    assert all(isinstance(o["transcript"], str) for o in cascade_audio)
    assert all("transcribe" in o["timings"] for o in cascade_audio)
    after = _transcriptions(vllm_chat_server.log_path, at_least=before + 6)
    assert after - before == len(cascade_audio) == 6
    # The forced choice made the random model call set_light on every turn's first request.
    for outcome in outcomes:
        if outcome["column"] == "audio" or outcome["transcript"] or not outcome["audio"]:
            assert outcome["calls"] and outcome["calls"][0]["name"] == "set_light", outcome
    for column in ("audio", "cascade"):
        scores = report["scores"][column]
        assert scores["turns"] == 8 and scores["errors"] == 0
        assert set(scores["tools"]) == {
            "set_light", "set_thermostat", "start_timer", "unlock_front_door",
        }  # fmt: skip
        assert scores["tools"]["set_light"]["called"] >= 1
        assert scores["latency_ms"]["total"]["n"] == 8
        assert scores["tokens"]["prompt_tokens"] > 0
        assert scores["confusion"]["labels"][-1] == "(no call)"
    assert {"lang=en", "lang=fr", "take=espeak", "take=espeak_brown10dB"} <= set(report["by_tag"])
    assert report["scores"]["audio"]["latency_ms"]["endpointing"]["n"] == 6
    assert report["scores"]["cascade"]["latency_ms"]["transcribe"]["n"] == 6
    page = html_path.read_text()
    assert page.count('class="mark bar"') == 4 * 2 and 'id="latency-chart"' in page
    assert "Tool calls: precision / recall / F1" in done.stdout
    assert "eval: 6/6 runs done" in done.stderr  # progress, a line per run off a terminal
