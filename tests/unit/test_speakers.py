"""EspeakSpeaker, the ready-made speaker hook, on the real espeak-ng program (installed by
tools/test.sh; these machines have no sound card, so speech is written to a file)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
import soundfile as sf

from voxagent.errors import ConfigurationError
from voxagent.speakers import EspeakSpeaker

pytestmark = pytest.mark.anyio


async def test_it_speaks_the_text(tmp_path: Path) -> None:
    out = tmp_path / "said.wav"
    speaker = EspeakSpeaker("en", extra_args=["-w", str(out)])
    await speaker("The kitchen light is on.")
    samples, rate = sf.read(out)
    assert rate > 0 and 0.8 < len(samples) / rate < 5.0


async def test_text_is_never_a_command_line(tmp_path: Path) -> None:
    out = tmp_path / "said.wav"
    speaker = EspeakSpeaker("en", extra_args=["-w", str(out)])
    await speaker(f"-w {tmp_path / 'evil.wav'} ; touch {tmp_path / 'pwned'}")
    assert out.exists() and not (tmp_path / "evil.wav").exists()
    assert not (tmp_path / "pwned").exists()


async def test_cancelling_stops_the_speech(tmp_path: Path) -> None:
    out = tmp_path / "said.wav"
    speaker = EspeakSpeaker("en", extra_args=["-w", str(out)])
    with anyio.move_on_after(0.3) as scope:
        await speaker("A long answer that goes on and on. " * 400)
    assert scope.cancelled_caught
    size = out.stat().st_size if out.exists() else 0
    # Uncancelled, espeak-ng needs about 2.6 s for this text here (and writes the file as it
    # goes): the process is gone if nothing more is written well after the cancellation.
    await anyio.sleep(2.5)
    assert (out.stat().st_size if out.exists() else 0) == size


@pytest.mark.parametrize("voice", ["-w", "--stdout", "en us", "", "x" * 80, "en;rm"])
def test_a_voice_that_is_not_a_voice_name_is_refused(voice: str) -> None:
    with pytest.raises(ConfigurationError, match="voice"):
        EspeakSpeaker(voice, executable="/bin/true")


@pytest.mark.parametrize("rate", [0, 79, 501, -5])
def test_an_impossible_rate_is_refused(rate: int) -> None:
    with pytest.raises(ConfigurationError, match="rate"):
        EspeakSpeaker("en", words_per_minute=rate, executable="/bin/true")


def test_a_missing_program_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigurationError, match="espeak-ng is not installed") as info:
        EspeakSpeaker("en")
    assert "apt install espeak-ng" in (info.value.hint or "")
