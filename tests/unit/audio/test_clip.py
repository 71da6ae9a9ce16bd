"""`AudioClip` keeps its file once (the base64 text requests carry), and still acts as a value."""

from __future__ import annotations

import base64
import copy
import gc
import pickle
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voxagent.audio import encode_wav, to_clip
from voxagent.audio.clip import AudioClip, Base64Text
from voxagent.client.body import encode_body
from voxagent.client.dialects import MISTRAL, VLLM
from voxagent.conversation import Budget, Conversation

# Reaching these would walk the whole interpreter (module globals, code objects), not the clip.
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def _wav(seconds: float, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(int(16000 * seconds)) * 0.1).astype(np.float32)
    return encode_wav(samples, 16000)


def _large(root: object, at_least: int = 1000) -> list[bytes | bytearray | memoryview | str]:
    """The bytes-like and str objects of `at_least` bytes/characters that `root` keeps alive."""
    seen: set[int] = set()
    stack: list[Any] = [root]
    found: list[bytes | bytearray | memoryview | str] = []
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        if isinstance(obj, bytes | bytearray | memoryview | str):
            if (len(obj) if isinstance(obj, str) else memoryview(obj).nbytes) >= at_least:
                found.append(obj)
            continue
        stack.extend(gc.get_referents(obj))
    return found


def _bytes_kept(root: object) -> list[int]:
    return sorted(memoryview(x).nbytes for x in _large(root) if not isinstance(x, str))


def _texts_kept(root: object) -> list[int]:
    return sorted(id(x) for x in _large(root) if isinstance(x, str))


def _b64_size(clip: AudioClip) -> int:
    return 4 * -(-clip.nbytes // 3)


def _held_once(clip: AudioClip) -> bool:
    """Whether the clip keeps exactly one large object: its base64 (bytes or text), no file."""
    (payload,) = _large(clip)
    return len(payload) == _b64_size(clip)


def test_a_clip_keeps_only_its_base64() -> None:
    wav = _wav(3.0)
    clip = AudioClip(wav, "wav", 3.0)
    del wav
    # The walk can find bytes at all: the same walk finds the file in an object that keeps it.
    assert _bytes_kept({"kept": _wav(3.0)}) == [96044]
    # Made (usually in a worker thread): the base64 as ASCII bytes, not the 96 kB file beside it.
    assert _bytes_kept(clip) == [_b64_size(clip)] == [4 * -(-96044 // 3)]
    assert _held_once(clip)
    text = clip.to_base64()
    # After the first request: only the text, the bytes dropped.
    assert isinstance(text, Base64Text) and len(text) == _b64_size(clip)
    assert _bytes_kept(clip) == []
    assert _texts_kept(clip) == [id(text)]
    assert clip.to_base64() is text


def test_reading_the_bytes_does_not_cache_them() -> None:
    wav = _wav(1.0)
    clip = AudioClip(wav, "wav", 1.0)
    for _ in range(2):  # before and after the text is made
        assert clip.data == wav
        assert clip.data is not clip.data  # decoded on each access
        assert clip.nbytes == len(wav)
        assert _held_once(clip)
        clip.to_base64()
    assert _bytes_kept(clip) == []


def test_building_request_bodies_keeps_nothing_more_and_reuses_the_text() -> None:
    clip = AudioClip(_wav(3.0), "wav", 3.0)
    conv = Conversation("You control the lights.")
    conv.add_user(audio=clip, text="(spoken)")
    conv.add_assistant("Done.")
    other = AudioClip(_wav(2.0, 1), "wav", 2.0)
    conv.add_user(audio=other)
    for dialect in (VLLM, MISTRAL):
        for _ in range(3):
            messages = conv.render(dialect)
            body = encode_body({"model": "voxtral", "messages": messages})
            assert clip.to_base64().encode() in body
            # Every request carries the stored text object itself, not a copy made per request.
            assert id(clip.to_base64()) in _texts_kept(messages)
    del messages, body
    # The conversation keeps two clips' texts and nothing else of that size.
    assert _bytes_kept(conv) == []
    assert _texts_kept(conv) == sorted([id(clip.to_base64()), id(other.to_base64())])


def test_saved_and_loaded_conversations_keep_clips_once(tmp_path: Path) -> None:
    conv = Conversation()
    for index in range(3):
        if index:
            conv.add_assistant("ok")
        conv.add_user(audio=AudioClip(_wav(1.0, index), "wav", 1.0))
    path = tmp_path / "conv.json"
    conv.save(path)
    loaded = Conversation.load(path)
    clips = [turn.audio for turn in loaded.turns if getattr(turn, "audio", None) is not None]
    assert len(clips) == 3 and all(_held_once(c) for c in clips)  # type: ignore[arg-type]
    assert len(_large(loaded)) == 3
    budget = Budget(max_audio_items=2)
    assert loaded.render(VLLM, budget=budget) == conv.render(VLLM, budget=budget)
    assert loaded.turns == conv.turns
    assert all(_held_once(c) for c in clips)  # type: ignore[arg-type]
    assert _bytes_kept(loaded) == [] and len(_texts_kept(loaded)) == 3


def test_clips_from_to_clip_keep_only_their_base64(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(_wav(1.0))  # already 16 kHz mono 16-bit: passed through as it is
    samples = np.zeros((8000, 2), dtype=np.float32)  # resampled and mixed down: encoded anew
    for clip in (to_clip(path), to_clip(path.read_bytes()), to_clip(samples, sample_rate=8000)):
        assert _held_once(clip)
    assert to_clip(path).data == path.read_bytes()


def test_a_clip_is_an_immutable_value() -> None:
    wav = _wav(0.5)
    clip = AudioClip(wav, "wav", 0.5)
    same = AudioClip(data=bytearray(wav), format="wav", duration_s=0.5)
    assert clip == same and hash(clip) == hash(same)
    assert clip != AudioClip(wav, "flac", 0.5)
    assert clip != AudioClip(wav, "wav", 0.25)
    assert clip != AudioClip(wav[:-2], "wav", 0.5)
    assert clip != wav
    assert len({clip, same}) == 1
    with pytest.raises(AttributeError):
        clip.format = "mp3"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        clip.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del clip.duration_s
    assert copy.copy(clip) is clip and copy.deepcopy(clip) is clip
    match clip:
        case AudioClip(data, fmt, seconds):
            assert (data, fmt, seconds) == (wav, "wav", 0.5)
    assert repr(clip) == f"AudioClip(format='wav', duration_s=0.50, bytes={len(wav)})"


def test_pickling_round_trips_without_the_bytes() -> None:
    clip = AudioClip(_wav(0.5), "wav", 0.5)
    restored = pickle.loads(pickle.dumps(clip))
    assert restored == clip and restored.data == clip.data
    assert isinstance(restored.to_base64(), Base64Text)
    assert _held_once(restored) and _held_once(clip)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 96044])
def test_nbytes_is_the_file_size_without_decoding(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    clip = AudioClip(data, "wav", 1.0)
    assert clip.nbytes == size == len(clip.data)
    assert clip.to_base64() == base64.b64encode(data).decode()


def test_text_is_not_audio() -> None:
    with pytest.raises(TypeError, match="not str"):
        AudioClip("UklGRg==", "wav", 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not int"):
        AudioClip(3, "wav", 1.0)  # type: ignore[arg-type]
