"""Hostile text: lone surrogates, NULs, control characters and nesting bombs from outside.

One character UTF-8 cannot encode, or one argument text nested 50,000 deep, used to make every
later request and every save fail. Whatever comes in through a tool, the model, the user or a
file, the conversation must keep rendering, encoding, saving and loading.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from voxagent import Agent, ModelSettings, tool
from voxagent.client.dialects import VLLM
from voxagent.client.types import ToolCall
from voxagent.conversation import AssistantTurn, Conversation, UserTurn
from voxagent.errors import ConversationError
from voxagent.testing import Reply, ScriptedServer
from voxagent.testing.validation import VllmValidator
from voxagent.text import clean_text, printable
from voxagent.tools.arguments import ToolArgumentsError, parse_arguments
from voxagent.tools.result import ToolResult, serialise_result

from .conftest import assert_next_turn_works

FSDECODED = os.fsdecode(b"report-\xff.txt")  # "report-\udcff.txt": a surrogateescape character
LONE = "\ud800"
BOMB = "[" * 50000 + "]" * 50000


def encodes(messages: list[dict[str, Any]]) -> bytes:
    """What the client does with a render: JSON with non-ASCII kept, then UTF-8."""
    return json.dumps(messages, ensure_ascii=False).encode("utf-8")


def round_trip(conv: Conversation, tmp_path: Path) -> Conversation:
    path = tmp_path / "conversation.json"
    conv.save(path)
    return Conversation.load(path)


# ------------------------------------------------------------------ clean_text and printable


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (FSDECODED, "report-\ufffd.txt"),
        (f"a{LONE}b", "a\ufffdb"),
        ("\udc80\udcff", "\ufffd\ufffd"),
        ("\ud83d\ude00", "\U0001f600"),  # a pair split into two code points is joined again
        ("nul\x00byte", "nulbyte"),
        ("keep\n\ttabs\r\x1b[0m", "keep\n\ttabs\r\x1b[0m"),  # controls are kept for the model
    ],
)
def test_clean_text_repairs_what_utf8_cannot_encode(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    clean_text(raw).encode("utf-8")


@pytest.mark.parametrize("text", ["plain ascii", "héllo wörld ☃ 日本語 \U0001f600", ""])
def test_clean_text_returns_valid_text_itself(text: str) -> None:
    assert clean_text(text) is text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("safe\roverwritten", "safe\\roverwritten"),
        ("bell\x07 del\x7f c1\x9b", "bell\\x07 del\\x7f c1\\x9b"),
        ("file\u202etxt.exe", "file\\u202etxt.exe"),
        ("\u2066iso\u2069 \u202aemb\u202c", "\\u2066iso\\u2069 \\u202aemb\\u202c"),
        ("mark\u200f\u200e\u061c", "mark\\u200f\\u200e\\u061c"),
        ("two\nlines\tand tab", "two\nlines\tand tab"),
        (f"path {FSDECODED}", "path report-\ufffd.txt"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(raw: str, shown: str) -> None:
    assert printable(raw) == shown


# ------------------------------------------------------------------ every way text gets in


def _poisoned_conversation() -> Conversation:
    conv = Conversation(f"instructions {LONE}")
    user = conv.add_user(text=f"user {LONE}\x00", audio=None)
    conv.set_transcript(user, f"transcript {FSDECODED}")
    call = ToolCall(f"id{LONE}", f"list{LONE}", json.dumps({"name": FSDECODED}, ensure_ascii=False))
    assistant = conv.add_assistant(f"assistant {LONE}", [call])
    conv.add_tool_result(call.id, f"list{LONE}", f"files: {FSDECODED}")
    assert assistant.tool_calls[0].id != call.id  # repaired, found again through id_map
    conv.add_assistant(f"answer {LONE}")
    conv.add_user(text="next")
    return conv


def test_surrogates_from_every_entry_point_never_stop_render_or_save(tmp_path: Path) -> None:
    conv = _poisoned_conversation()
    body = encodes(conv.render(VLLM))
    assert b"report-\xef\xbf\xbd.txt" in body  # U+FFFD in UTF-8
    restored = round_trip(conv, tmp_path)
    assert restored.to_dict() == conv.to_dict()
    encodes(restored.render(VLLM))


def test_a_loaded_file_with_escaped_lone_surrogates_is_cleaned(tmp_path: Path) -> None:
    data = _poisoned_conversation().to_dict()
    data["instructions"] = LONE
    data["turns"][0]["text"] = f"typed {LONE}"
    data["turns"][1]["tool_calls"][0]["arguments"] = f'{{"name": "{LONE}"}}'
    data["turns"][2]["content"] = f"escaped {LONE}"
    path = tmp_path / "edited.json"
    # ensure_ascii writes the lone surrogate as the escape "\ud800", as a hand edit would.
    path.write_text(json.dumps(data, ensure_ascii=True), encoding="utf-8")
    loaded = Conversation.load(path)
    encodes(loaded.render(VLLM))
    loaded.save(tmp_path / "again.json")
    assert loaded.instructions == "\ufffd"


def test_tool_results_always_encode() -> None:
    assert serialise_result(FSDECODED) == "report-\ufffd.txt"
    # pydantic refuses lone surrogates in data; the result is repaired instead of unserialisable.
    assert (
        serialise_result({"files": [FSDECODED], "n": 2}) == '{"files":["report-\ufffd.txt"],"n":2}'
    )
    assert ToolResult.failure(f"cannot open {FSDECODED}", "raised").content == (
        "cannot open report-\ufffd.txt"
    )


# ------------------------------------------------------------------ nesting bombs


def test_too_deep_arguments_are_invalid_json_for_the_model() -> None:
    with pytest.raises(ToolArgumentsError) as caught:
        parse_arguments(BOMB, "set_light")
    assert caught.value.kind == "invalid_json"
    assert "deeper than" in str(caught.value)


def test_recorded_too_deep_arguments_and_results_render_and_validate(tmp_path: Path) -> None:
    conv = Conversation()
    conv.add_user(text="go")
    bad_call = ToolCall("abcDEF123", "set_light", BOMB)
    malformed = ToolCall("abcDEF124", "set_light", "{bad")
    conv.add_assistant(None, [bad_call, malformed])
    conv.add_tool_result(bad_call.id, "set_light", "invalid arguments", is_error=True)
    conv.add_tool_result(malformed.id, "set_light", BOMB)  # a tool echoing hostile text
    conv = round_trip(conv, tmp_path)  # the bomb survives save and load as plain text
    messages = conv.render(VLLM)
    calls = messages[1]["tool_calls"]
    assert [c["function"]["arguments"] for c in calls] == ["{}", "{bad"]  # malformed: as sent
    assert "nests deeper" in messages[3]["content"]
    validator = VllmValidator(max_model_len=32768, max_audio=5)
    validator.check({"messages": json.loads(encodes(messages))})


@pytest.mark.anyio
async def test_a_nesting_bomb_in_non_stream_mode_does_not_poison_later_turns(
    tmp_path: Path,
) -> None:
    @tool
    def set_light(room: str) -> str:
        """Switch a light.

        Args:
            room: Which room.
        """
        return f"{room} on"

    async with ScriptedServer(
        [Reply.tool_call("set_light", BOMB), Reply.text("Sorry, bad call.")]
    ) as server:
        async with Agent(
            base_url=server.base_url, tools=[set_light], settings=ModelSettings(stream=False)
        ) as agent:
            turn = await agent.ask(text="light please")
            assert turn.tool_calls[0].result.error_kind == "invalid_json"
            await assert_next_turn_works(agent, server)
            agent.conversation.save(tmp_path / "c.json")
            loaded = Conversation.load(tmp_path / "c.json")
            loaded.add_user(text="again")
            encodes(loaded.render(VLLM))


def test_a_conversation_file_nested_too_deep_is_a_conversation_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    # 200 levels parse with json.loads (no RecursionError) but are over the bounded parser's limit.
    path.write_text(
        '{"format": "voxagent.conversation", "version": 1, "turns": ['
        + "[" * 200
        + "]" * 200
        + "]}",
        encoding="utf-8",
    )
    with pytest.raises(ConversationError, match="deeper than"):
        Conversation.load(path)


# ------------------------------------------------------------------ end to end through ask()


@pytest.mark.anyio
async def test_a_surrogate_from_a_tool_and_from_the_model_never_stop_the_next_ask_or_save(
    tmp_path: Path,
) -> None:
    @tool
    def latest_report() -> str:
        """Name the newest report file."""
        return FSDECODED

    async with ScriptedServer(
        [Reply.tool_call("latest_report", {}), Reply.text(f"It is report-{LONE}.txt")]
    ) as server:
        async with Agent(base_url=server.base_url, tools=[latest_report]) as agent:
            await agent.ask(text="which report is newest?")
            await assert_next_turn_works(agent, server)
            agent.conversation.save(tmp_path / "c.json")
            restored = Conversation.load(tmp_path / "c.json")
    assert restored.to_dict() == agent.conversation.to_dict()
    tool_message = next(m for m in server.requests[1]["messages"] if m["role"] == "tool")
    assert tool_message["content"] == "report-\ufffd.txt"


# ------------------------------------------------------------------ the property


# Any code point, surrogates included, with the troublemakers drawn often.
hostile_chars = st.characters(exclude_categories=()) | st.sampled_from(
    ["\ud800", "\udfff", "\udcff", "\x00", "\x1b", "\r", "\u202e", "\x85"]
)
hostile = st.text(hostile_chars, max_size=20)
injections = st.lists(
    st.tuples(
        st.sampled_from(
            ["user", "transcript", "assistant", "call", "result", "instructions", "file"]
        ),
        hostile,
    ),
    min_size=1,
    max_size=8,
)


def _inject(conv: Conversation, where: str, text: str, tmp_path: Path) -> Conversation:
    if where == "user":
        conv.add_user(text=text or "x")
    elif where == "transcript":
        conv.set_transcript(conv.add_user(text="spoken"), text)
    elif where == "assistant":
        conv.add_user(text="q")
        conv.add_assistant(text or None)
    elif where == "call":
        conv.add_user(text="q")
        stored = conv.add_assistant(text, [ToolCall(text, text, text)])
        conv.add_tool_result(stored.tool_calls[0].id, text, text)
    elif where == "result":
        conv.add_user(text="q")
        stored = conv.add_assistant(None, [ToolCall("abcDEF123", "t", "{}")])
        conv.add_tool_result(stored.tool_calls[0].id, "t", text, is_error=bool(len(text) % 2))
    elif where == "instructions":
        conv.instructions = text
    else:  # a file edited by hand: the text written with JSON escapes into a user turn
        data = conv.to_dict()
        data["turns"].append({"kind": "user", "uid": text, "created_at": 0.0, "text": text or "x"})
        path = tmp_path / "edited.json"
        path.write_text(json.dumps(data, ensure_ascii=True), encoding="utf-8")
        conv = Conversation.load(path)
    return conv


@settings(
    max_examples=150,
    derandomize=True,
    deadline=2000,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(injections)
def test_no_text_stops_render_encode_save_or_load(
    tmp_path: Path, steps: list[tuple[str, str]]
) -> None:
    conv = Conversation()
    for where, text in steps:
        conv = _inject(conv, where, text, tmp_path)
        turns = conv.turns
        if any(isinstance(t, UserTurn) for t in turns) and not isinstance(turns[-1], AssistantTurn):
            encodes(conv.render(VLLM))
        restored = round_trip(conv, tmp_path)
        assert restored.to_dict() == conv.to_dict()
        conv = restored
