"""Hostile audio input: odd array layouts and rates, pipes without writers, endless devices,
over-long input, and conversation files whose audio or numbers were tampered with.

Every one of them must end in one clear `AudioError` (input) or `ConversationError` (a file),
promptly, and cancellably; none may hang, exhaust memory or poison later turns.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
import soundfile as sf

from voxagent import Agent
from voxagent.audio import ArraySource, AudioFile, encode_wav, to_clip
from voxagent.audio.clip import AudioClip
from voxagent.audio.ingest import check_clip, read_clip
from voxagent.conversation import Budget, Conversation
from voxagent.errors import AudioError, ContextLengthError, ConversationError
from voxagent.testing import ScriptedServer

from .conftest import assert_next_turn_works


def noise(frames: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (frames,) if channels == 1 else (frames, channels)
    return (rng.standard_normal(shape) * 0.1).astype(np.float32)


def wav_bytes(
    seconds: float, rate: int = 16000, channels: int = 1, subtype: str = "PCM_16"
) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, noise(int(rate * seconds), channels), rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


# ------------------------------------------------------------------ array layout


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_a_channels_first_array_is_read_as_channels(channels: int) -> None:
    frames_last = noise(48000, channels) if channels > 1 else noise(48000)[:, None]
    clip = to_clip(np.ascontiguousarray(frames_last.T), sample_rate=48000)  # (channels, frames)
    assert clip.duration_s == pytest.approx(1.0)
    assert clip.data == to_clip(frames_last, sample_rate=48000).data
    source = ArraySource(frames_last.T, 48000)
    assert source.duration == pytest.approx(1.0)


@pytest.mark.parametrize("shape", [(100, 100), (2, 3, 16000)], ids=["100-channels", "3-d"])
def test_an_array_that_is_not_a_clip_is_an_audio_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(AudioError) as caught:
        to_clip(np.zeros(shape, dtype=np.float32), sample_rate=16000)
    assert caught.value.hint


# ------------------------------------------------------------------ sample rates


BAD_RATES = [1e9, 0, -16000, math.nan, math.inf, 16000.5, "16000", True]


@pytest.mark.parametrize("rate", BAD_RATES, ids=[repr(r) for r in BAD_RATES])
def test_an_unusable_sample_rate_is_an_audio_error_with_a_hint(rate: Any) -> None:
    with pytest.raises(AudioError, match="sample rate") as caught:
        to_clip(noise(16000), sample_rate=rate)
    assert caught.value.hint and "Hz" in caught.value.hint
    with pytest.raises(AudioError, match="sample rate"):
        ArraySource(noise(16000), rate)


def test_a_whole_float_sample_rate_is_accepted() -> None:
    assert to_clip(noise(44100), sample_rate=44100.0).duration_s == pytest.approx(1.0)


@pytest.mark.anyio
async def test_ask_with_a_bad_sample_rate_raises_audio_error_and_records_nothing() -> None:
    async with ScriptedServer([]) as server:
        async with Agent(base_url=server.base_url) as agent:
            with pytest.raises(AudioError, match="sample rate"):
                await agent.ask(audio=noise(16000), sample_rate=1e9)  # type: ignore[arg-type]
            assert agent.conversation.turns == ()
            await assert_next_turn_works(agent, server)


# ------------------------------------------------------------------ pipes and devices


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO nobody writes to; after 5 s a safety writer opens and closes it, so that code that
    blocks on it ends (and the test fails on its timing) instead of hanging the suite."""
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    done = threading.Event()

    def release() -> None:
        if done.wait(5.0):
            return
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return  # no reader waiting: nothing to release
        os.close(fd)

    helper = threading.Thread(target=release, daemon=True)
    helper.start()
    yield path
    done.set()
    helper.join()


@pytest.mark.anyio
async def test_reading_a_fifo_without_writer_stops_when_cancelled(fifo: Path) -> None:
    started = time.monotonic()
    # How Agent.ask runs it today: a worker thread that is waited for, not abandoned.
    with anyio.move_on_after(0.2) as scope:
        await anyio.to_thread.run_sync(to_clip, fifo, None)
    assert scope.cancelled_caught
    assert time.monotonic() - started < 2.0
    started = time.monotonic()
    with anyio.move_on_after(0.2) as scope:
        await read_clip(fifo)
    assert scope.cancelled_caught
    assert time.monotonic() - started < 2.0


@pytest.mark.anyio
async def test_ask_on_a_fifo_without_writer_is_cancellable(fifo: Path) -> None:
    async with ScriptedServer([]) as server:
        async with Agent(base_url=server.base_url) as agent:
            started = time.monotonic()
            with anyio.move_on_after(0.3) as scope:
                await agent.ask(audio=fifo)
            assert scope.cancelled_caught
            assert time.monotonic() - started < 2.0
            assert agent.conversation.turns == ()
            await assert_next_turn_works(agent, server)


def test_a_fifo_is_read_until_its_writer_closes(tmp_path: Path) -> None:
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    data = wav_bytes(1.5)

    def write() -> None:
        time.sleep(0.2)  # the reader waits for the writer first
        with open(path, "wb") as pipe:
            for offset in range(0, len(data), 4096):
                pipe.write(data[offset : offset + 4096])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        clip = to_clip(path)
    finally:
        writer.join()
    assert clip.data == data and clip.duration_s == pytest.approx(1.5)


def test_an_endless_device_stops_at_the_size_limit() -> None:
    started = time.monotonic()
    with pytest.raises(AudioError, match="limit") as caught:
        to_clip("/dev/zero", max_bytes=2_000_000)
    assert caught.value.hint
    assert time.monotonic() - started < 2.0


def test_a_file_over_the_default_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.wav"
    with path.open("wb") as handle:
        handle.truncate(300 * 1024 * 1024)  # sparse: no disk, but a real size
    started = time.monotonic()
    with pytest.raises(AudioError, match="limit"):
        to_clip(path)
    assert time.monotonic() - started < 1.0  # not read (that takes seconds and 300 MB)


def test_bytes_over_the_size_limit_are_refused() -> None:
    with pytest.raises(AudioError, match="limit"):
        to_clip(wav_bytes(1.0), max_bytes=1000)


def test_audio_file_refuses_a_fifo_instead_of_blocking_the_event_loop(fifo: Path) -> None:
    started = time.monotonic()
    with pytest.raises(AudioError, match="pipe or device"):
        AudioFile(fifo)
    assert time.monotonic() - started < 1.0


# ------------------------------------------------------------------ length


@pytest.mark.parametrize(
    "make",
    [
        lambda: wav_bytes(2.0),  # passed through as it is
        lambda: wav_bytes(2.0, rate=44100, channels=2),  # decoded and re-encoded
        lambda: noise(32000),  # an array
    ],
    ids=["chat-ready-wav", "other-wav", "array"],
)
def test_audio_over_max_seconds_is_refused(make: Any) -> None:
    with pytest.raises(AudioError, match="limit") as caught:
        to_clip(make(), sample_rate=16000, max_seconds=1.0)
    assert "2 s" in caught.value.message


def test_long_audio_is_refused_from_its_header_before_it_is_decoded(tmp_path: Path) -> None:
    # 8-bit 8 kHz: 100 MB is almost 3.5 hours, which decoded to float32 would be 400 MB.
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(8000, dtype=np.float32), 8000, format="WAV", subtype="PCM_U8")
    header = path.read_bytes()[:44]
    size = 100 * 1024 * 1024
    riff = header[:4] + (size - 8).to_bytes(4, "little") + header[8:40]
    with path.open("wb") as handle:
        handle.write(riff + (size - 44).to_bytes(4, "little"))
        handle.truncate(size)
    started = time.monotonic()
    with pytest.raises(AudioError, match="limit"):
        to_clip(path)
    assert time.monotonic() - started < 3.0


def test_check_fits_refuses_a_two_hour_clip_before_it_is_recorded() -> None:
    conv = Conversation()
    conv.add_user(text="hello")
    clip = AudioClip(wav_bytes(0.5), "wav", 7200.0)
    with pytest.raises(ContextLengthError) as caught:
        conv.check_fits(Budget(max_tokens=32768), audio=clip)
    assert caught.value.hint
    assert len(conv.turns) == 1
    conv.check_fits(Budget(max_tokens=32768), audio=AudioClip(wav_bytes(0.5), "wav", 0.5))


# ------------------------------------------------------------------ tampered files


def saved_with_audio(tmp_path: Path) -> dict[str, Any]:
    conv = Conversation()
    conv.add_user(text="hi", audio=to_clip(wav_bytes(1.0)))
    conv.add_assistant("hello")
    conv.add_user(audio=to_clip(wav_bytes(0.75)))
    return conv.to_dict()


def load_edited(tmp_path: Path, data: dict[str, Any]) -> Conversation:
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data), encoding="utf-8")  # NaN/Infinity as Python writes them
    return Conversation.load(path)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _flac(seconds: float) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, noise(int(16000 * seconds)), 16000, format="FLAC")
    return buffer.getvalue()


TAMPERED: dict[str, tuple[dict[str, Any], str]] = {
    "junk-base64-audio": ({"data": _b64(b"definitely not audio " * 40)}, "decode"),
    "truncated-wav": ({"data": _b64(wav_bytes(0.75)[:12000])}, "lasts 0.374 s"),
    "truncated-flac": ({"data": _b64(_flac(0.75)[:3000]), "format": "flac"}, "decode|shorter"),
    "duration-1e308": ({"duration_s": 1e308}, "duration_s"),
    "duration-nan": ({"duration_s": math.nan}, "finite"),
    "duration-inf": ({"duration_s": math.inf}, "finite"),
    "duration-negative": ({"duration_s": -1.0}, "duration_s"),
    "duration-inconsistent": ({"duration_s": 30.0}, "lasts 0.750 s"),
    "format-lies": ({"format": "flac"}, "data is wav"),
    "format-unknown": ({"format": "webm"}, "format 'webm'"),
    "stereo": ({"data": _b64(wav_bytes(0.75, channels=2))}, "mono"),
}


@pytest.mark.parametrize(("changes", "message"), TAMPERED.values(), ids=TAMPERED.keys())
def test_a_tampered_audio_turn_is_one_conversation_error_naming_the_turn(
    tmp_path: Path, changes: dict[str, Any], message: str
) -> None:
    data = saved_with_audio(tmp_path)
    data["turns"][2]["audio"].update(changes)
    with pytest.raises(ConversationError, match=message) as caught:
        load_edited(tmp_path, data)
    assert "turn 2 (user)" in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_timestamp_is_a_conversation_error(tmp_path: Path, value: float) -> None:
    data = saved_with_audio(tmp_path)
    data["turns"][1]["created_at"] = value
    with pytest.raises(ConversationError, match=r"turn 1 .*finite"):
        load_edited(tmp_path, data)


def test_a_saved_conversation_with_audio_loads_as_it_was(tmp_path: Path) -> None:
    data = saved_with_audio(tmp_path)
    assert load_edited(tmp_path, data).to_dict() == data
    # A compressed clip passed through by to_clip loads too (its header length is exact).
    flac = io.BytesIO()
    sf.write(flac, noise(12000), 16000, format="FLAC")
    conv = Conversation()
    conv.add_user(audio=to_clip(flac.getvalue()))
    assert conv.turns[0].audio is not None and conv.turns[0].audio.format == "flac"  # type: ignore[union-attr]
    assert load_edited(tmp_path, conv.to_dict()).to_dict() == conv.to_dict()


def test_encode_wav_output_round_trips_through_load(tmp_path: Path) -> None:
    conv = Conversation()
    conv.add_user(audio=AudioClip(encode_wav(noise(16000 * 3)), "wav", 3.0))
    assert load_edited(tmp_path, conv.to_dict()).to_dict() == conv.to_dict()


@pytest.mark.parametrize(
    "clip",
    [
        AudioClip(b"definitely not audio " * 40, "wav", 1.0),
        AudioClip(wav_bytes(0.5), "wav", 600.0),
        AudioClip(wav_bytes(0.5), "wav", math.nan),
        AudioClip(wav_bytes(0.5, channels=2), "wav", 0.5),
        AudioClip(wav_bytes(0.5), "mp3", 0.5),
    ],
    ids=["junk", "duration-lies", "duration-nan", "stereo", "format-lies"],
)
def test_check_clip_refuses_a_hand_built_clip_a_server_would_reject(clip: AudioClip) -> None:
    with pytest.raises(AudioError) as caught:
        check_clip(clip)
    assert caught.value.hint


def test_check_clip_accepts_what_to_clip_makes() -> None:
    for source in (wav_bytes(0.5), wav_bytes(0.5, rate=44100, channels=2), _flac(0.5)):
        check_clip(to_clip(source))
