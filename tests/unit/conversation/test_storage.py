"""Save and load: atomic JSON files, validated on the way back in."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from voxagent.audio.clip import AudioClip
from voxagent.client.dialects import VLLM
from voxagent.client.types import ToolCall
from voxagent.conversation import Budget, Conversation
from voxagent.errors import ConversationError

Encode = Callable[..., int]
Clip = Callable[..., AudioClip]


def sample(clip: Clip) -> Conversation:
    conv = Conversation("You control the lights.", clock=lambda: 1234.5)
    conv.add_user(text="hello")
    conv.add_assistant("hi")
    conv.add_user(audio=clip(1.5), transcript="kitchen light on", text="(spoken)")
    turn = conv.add_assistant(
        None,
        [
            ToolCall("call_bad_id", "set_light", '{"room": "kitchen"}'),
            ToolCall("abcDEF123", "set_light", "{oops"),
        ],
    )
    conv.add_tool_result("call_bad_id", "set_light", "on")
    conv.add_assistant("Still working.")  # the second call is left unanswered
    conv.add_user(audio=clip(2.0, 1))
    assert turn.id_map["call_bad_id"] != "call_bad_id"
    return conv


def test_round_trip_keeps_everything(tmp_path: Path, clip: Clip, encode: Encode) -> None:
    conv = sample(clip)
    path = tmp_path / "conv.json"
    conv.save(path)
    loaded = Conversation.load(path)
    assert loaded.turns == conv.turns
    assert loaded.instructions == conv.instructions
    assert loaded.render(VLLM) == conv.render(VLLM)
    encode(loaded.render(VLLM, budget=Budget(max_audio_items=1)))
    # Loaded conversations keep working: ids stay unique, results still pair.
    loaded.add_tool_result("abcDEF123", "set_light", "late")
    again = loaded.add_assistant(None, [ToolCall("abcDEF123", "set_light", "{}")])
    assert again.tool_calls[0].id != "abcDEF123"


def test_file_format_is_versioned_json_with_inline_audio(tmp_path: Path, clip: Clip) -> None:
    conv = sample(clip)
    path = tmp_path / "conv.json"
    conv.save(path)
    data = json.loads(path.read_text("utf-8"))
    assert (data["format"], data["version"]) == ("voxagent.conversation", 2)
    audio = data["turns"][2]["audio"]
    assert audio["format"] == "wav" and audio["duration_s"] == 1.5
    assert audio["data"] == conv.turns[2].audio.to_base64()  # type: ignore[union-attr]
    assert Conversation.from_dict(conv.to_dict()).turns == conv.turns


def test_save_is_atomic(tmp_path: Path, clip: Clip, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "conv.json"
    Conversation("old").save(path)
    before = path.read_text("utf-8")

    def failing_replace(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ConversationError, match="No space left") as caught:
        sample(clip).save(path)
    assert caught.value.hint
    assert path.read_text("utf-8") == before
    assert [p.name for p in tmp_path.iterdir()] == ["conv.json"]  # no temp file left behind


def test_save_into_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConversationError, match="Cannot save"):
        Conversation().save(tmp_path / "missing" / "conv.json")


def tamper(data: dict[str, Any], how: str) -> dict[str, Any]:
    turns = data["turns"]
    if how == "bad base64":
        turns[2]["audio"]["data"] = "not base64!"
    elif how == "negative duration":
        turns[2]["audio"]["duration_s"] = -1.0
    elif how == "unknown kind":
        turns[0]["kind"] = "wizard"
    elif how == "extra field":
        turns[0]["surprise"] = 1
    elif how == "bad call id":
        turns[3]["tool_calls"][0]["id"] = "call_1"
    elif how == "duplicate call id":
        turns[3]["tool_calls"][1]["id"] = turns[3]["tool_calls"][0]["id"]
    elif how == "orphan result":
        turns[4]["call_id"] = "zzzzzzzzz"
    elif how == "empty user":
        turns[0]["text"] = None
    elif how == "wrong type":
        turns[0]["created_at"] = "yesterday"
    elif how == "not a list":
        data["turns"] = {}
    return data


@pytest.mark.parametrize(
    "how",
    [
        "bad base64",
        "negative duration",
        "unknown kind",
        "extra field",
        "bad call id",
        "duplicate call id",
        "orphan result",
        "empty user",
        "wrong type",
        "not a list",
    ],
)
def test_tampered_files_give_conversation_errors(tmp_path: Path, clip: Clip, how: str) -> None:
    path = tmp_path / "conv.json"
    path.write_text(json.dumps(tamper(sample(clip).to_dict(), how)), "utf-8")
    with pytest.raises(ConversationError) as caught:
        Conversation.load(path)
    assert str(path) in caught.value.message
    assert caught.value.hint


def test_truncated_missing_and_future_files(tmp_path: Path, clip: Clip) -> None:
    path = tmp_path / "conv.json"
    sample(clip).save(path)
    text = path.read_text("utf-8")
    path.write_text(text[: len(text) // 2], "utf-8")
    with pytest.raises(ConversationError, match="not valid JSON"):
        Conversation.load(path)
    with pytest.raises(ConversationError, match="Cannot read"):
        Conversation.load(tmp_path / "nope.json")
    path.write_text(json.dumps({**sample(clip).to_dict(), "version": 99}), "utf-8")
    with pytest.raises(ConversationError, match="version 99") as caught:
        Conversation.load(path)
    assert caught.value.hint and "upgrade" in caught.value.hint
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConversationError, match="Cannot read"):
        Conversation.load(path)
    path.write_text("[1, 2]", "utf-8")
    with pytest.raises(ConversationError, match="Not a valid saved conversation"):
        Conversation.load(path)
