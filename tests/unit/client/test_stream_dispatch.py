"""When a streamed tool call is dispatched, truncation marks, caps, and linear-time parsing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from voxagent.client import stream_assembly
from voxagent.client.sse import SSEDecoder, StreamAssembler, arguments_complete
from voxagent.client.types import StreamItem, TextDelta, ToolCallReady
from voxagent.errors import ProtocolError


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def fragment(index: int, *, id: str | None = None, name: str | None = None,
             arguments: str | None = None) -> dict[str, Any]:  # fmt: skip
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    made: dict[str, Any] = {"index": index, "type": "function", "function": function}
    if id is not None:
        made["id"] = id
    return made


def feed_all(assembler: StreamAssembler, fragments: list[dict[str, Any]]) -> list[StreamItem]:
    """Feed each fragment as its own chunk; return every item, in order."""
    items: list[StreamItem] = []
    for piece in fragments:
        items += assembler.feed(chunk({"tool_calls": [piece]}))
    return items


def ready(items: list[StreamItem]) -> list[ToolCallReady]:
    return [i for i in items if isinstance(i, ToolCallReady)]


# ------------------------------------------------------------ E: not too early


@pytest.mark.parametrize(
    "fragments",
    [
        # "{}" with the first name fragment.
        [fragment(0, id="abcdefghi", name="set_", arguments="{}"), fragment(0, name="light")],
        # "{}" in between the name fragments.
        [
            fragment(0, id="abcdefghi", name="set_"),
            fragment(0, arguments="{}"),
            fragment(0, name="light"),
        ],
    ],
    ids=["arguments-with-first-fragment", "arguments-in-between"],
)
def test_a_name_in_several_fragments_is_dispatched_whole_at_the_end(
    fragments: list[dict[str, Any]],
) -> None:
    assembler = StreamAssembler()
    assert ready(feed_all(assembler, fragments)) == []
    [call] = ready(assembler.feed(chunk({}, "tool_calls")))
    assert call.call.name == "set_light" and call.call.arguments == "{}"
    assert not call.truncated


def test_a_name_followed_by_arguments_is_dispatched_as_soon_as_they_close() -> None:
    assembler = StreamAssembler()
    items = feed_all(assembler, [fragment(0, id="abcdefghi", name="set_light", arguments="")])
    items += feed_all(assembler, [fragment(0, arguments='{"room": '), fragment(0, arguments='"k"')])
    assert ready(items) == []
    [call] = ready(feed_all(assembler, [fragment(0, arguments="}")]))
    assert call.call.name == "set_light" and json.loads(call.call.arguments) == {"room": "k"}


def test_interleaved_calls_are_never_dispatched_with_incomplete_arguments() -> None:
    assembler = StreamAssembler()
    items = feed_all(
        assembler,
        [
            fragment(0, id="aaaaaaaaa", name="set_light", arguments=""),
            fragment(1, id="bbbbbbbbb", name="get_time", arguments=""),
            fragment(0, arguments='{"room": '),
            fragment(1, arguments='{"zone": '),
            fragment(0, arguments='"kitchen"'),
            fragment(1, arguments='"UTC"}'),
            fragment(0, arguments=', "on": true}'),
        ],
    )
    # Each call fired on its own closing fragment, never on a switch of index.
    assert [(r.index, json.loads(r.call.arguments)) for r in ready(items)] == [
        (1, {"zone": "UTC"}),
        (0, {"room": "kitchen", "on": True}),
    ]
    rest, response = assembler.finish()
    assert ready(rest) == []
    assert [c.name for c in response.tool_calls] == ["set_light", "get_time"]


def test_switching_index_fires_only_the_complete_call_never_an_incomplete_one() -> None:
    assembler = StreamAssembler()
    items = feed_all(
        assembler,
        [
            fragment(0, id="aaaaaaaaa", name="f", arguments=""),
            fragment(0, arguments='{"a": '),
            fragment(1, id="bbbbbbbbb", name="g", arguments=""),
            fragment(1, arguments="{}"),
            fragment(0, arguments="1}"),
        ],
    )
    # Switching to "g" left "f" (arguments incomplete) alone; switching back to "f" settled
    # "g" (name final, arguments complete); "f" fired on its own closing fragment.
    assert [(r.call.name, r.call.arguments) for r in ready(items)] == [
        ("g", "{}"),
        ("f", '{"a": 1}'),
    ]
    assert ready(assembler.feed(chunk({}, "tool_calls"))) == []


def test_a_whole_call_in_one_fragment_fires_when_the_next_call_starts() -> None:
    assembler = StreamAssembler()
    first = assembler.feed(
        chunk({"tool_calls": [fragment(0, id="aaaaaaaaa", name="f", arguments="{}")]})
    )
    assert ready(first) == []  # the name might still grow
    items = assembler.feed(
        chunk({"tool_calls": [fragment(1, id="bbbbbbbbb", name="g", arguments='{"x": ')]})
    )
    assert [(r.index, r.call.name) for r in ready(items)] == [(0, "f")]


def test_more_arguments_after_a_dispatched_call_are_a_protocol_error() -> None:
    assembler = StreamAssembler()
    feed_all(
        assembler,
        [fragment(0, id="aaaaaaaaa", name="f", arguments=""), fragment(0, arguments="{}")],
    )
    [_] = ready(feed_all(assembler, [fragment(0, arguments=" ")]))
    with pytest.raises(ProtocolError, match="after its arguments were complete"):
        feed_all(assembler, [fragment(0, arguments=', "x": 1}')])


# ------------------------------------------------------------ F: truncation


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ('{"a": 1}', True),
        (':{"a": 1}', True),  # vLLM's wrapper tail, repaired
        ("  {}  ", True),
        ('{"a": ', False),
        ("", False),
        ("   ", False),
        ("[1, 2]", False),  # JSON, not an object
        ('"text"', False),
        ("[" * 5000, False),  # too deep: not complete, and no RecursionError
    ],
)
def test_arguments_complete(text: str, complete: bool) -> None:
    assert arguments_complete(text) is complete


@pytest.mark.parametrize(
    ("finish", "arguments", "truncated"),
    [
        ("length", '{"room": "kit', True),
        ("length", "", True),
        ("length", '{"room": "kitchen"}', False),
        ("stop", '{"room": "kit', False),
        ("tool_calls", "", False),
    ],
)
def test_calls_cut_at_max_tokens_are_marked_truncated(
    finish: str, arguments: str, truncated: bool
) -> None:
    assembler = StreamAssembler()
    # Whole in one fragment: the name is only known complete at the finish.
    feed_all(assembler, [fragment(0, id="abcdefghi", name="set_light", arguments=arguments)])
    [call] = ready(assembler.feed(chunk({}, finish)))
    assert call.truncated is truncated
    assert call.call.arguments == arguments  # as the model wrote it: the tool reports bad JSON
    _, response = assembler.finish()
    assert response.finish_reason == finish and response.tool_calls == (call.call,)


def test_a_complete_call_before_a_cut_one_is_dispatched_untruncated() -> None:
    assembler = StreamAssembler()
    items = feed_all(
        assembler,
        [
            fragment(0, id="aaaaaaaaa", name="f", arguments=""),
            fragment(0, arguments="{}"),
            fragment(0, arguments=" "),
            fragment(1, id="bbbbbbbbb", name="g", arguments=""),
            fragment(1, arguments='{"x": [1, 2'),
        ],
    )
    items += assembler.feed(chunk({}, "length"))
    assert [(r.call.name, r.truncated) for r in ready(items)] == [("f", False), ("g", True)]


# ------------------------------------------------------------ B: caps and linear time


def test_streamed_text_over_the_cap_is_a_protocol_error_as_soon_as_it_passes() -> None:
    assembler = StreamAssembler(max_text_chars=100, source="http://h/v1/chat/completions")
    for _ in range(10):
        assert assembler.feed(chunk({"content": "x" * 10})) == [TextDelta("x" * 10)]
    with pytest.raises(ProtocolError, match="longer than 100 characters") as caught:
        assembler.feed(chunk({"content": "x"}))
    assert "http://h/v1" in caught.value.message and "max_tokens" in (caught.value.hint or "")


def test_arguments_over_the_cap_are_a_protocol_error() -> None:
    assembler = StreamAssembler(max_argument_chars=50)
    feed_all(assembler, [fragment(0, id="aaaaaaaaa", name="f", arguments="{")])
    with pytest.raises(ProtocolError, match="arguments for tool call 'f'"):
        feed_all(assembler, [fragment(0, arguments='"a": "' + "x" * 60)])


def test_a_megabyte_of_one_character_argument_fragments_is_linear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every fragment a closing brace: the old assembler parsed the whole text after each one.
    # Work is counted, not timed: the characters handed to the full JSON parse in all.
    parsed: list[int] = []
    real = stream_assembly.arguments_complete

    def counting(text: str) -> bool:
        parsed.append(len(text))
        return real(text)

    scanned: list[int] = []
    scan = stream_assembly.ObjectScanner.feed

    def counting_scan(self: stream_assembly.ObjectScanner, text: str) -> bool:
        scanned.append(len(text))
        return scan(self, text)

    monkeypatch.setattr(stream_assembly, "arguments_complete", counting)
    monkeypatch.setattr(stream_assembly.ObjectScanner, "feed", counting_scan)
    assembler = StreamAssembler(max_argument_chars=10**7)
    feed_all(assembler, [fragment(0, id="aaaaaaaaa", name="f", arguments='{"a": "')])
    pieces = [chunk({"tool_calls": [fragment(0, arguments="}" * 10)]})] * 20_000
    for piece in pieces:
        assembler.feed(piece)
    total = 7 + 10 * 20_000
    assert sum(scanned) == total  # every character scanned once, as it came
    # The full parse runs only once the object may have closed (here never: the braces are
    # inside a string); the old assembler parsed everything after each brace: quadratic.
    assert sum(parsed) <= 2 * total


def test_a_megabyte_of_blank_lines_or_comments_decodes_fast() -> None:
    for flood in (b"\n" * 65536, b": keep-alive\n" * 5000, b"\r\n\n" * 20000):
        decoder = SSEDecoder()
        for _ in range(16):
            assert decoder.feed(flood) == []
            # Nothing is kept between chunks of whole lines (the old decoder grew a buffer
            # and rescanned it: 1 s per MB).
            assert decoder._partial == [] and decoder._data == []
        assert decoder.feed(b"data: {}\n\n") == ["{}"]


def test_a_long_line_over_many_chunks_is_joined_once() -> None:
    decoder = SSEDecoder(max_line=64 * 1024 * 1024)
    assert decoder.feed(b"data: ") == []
    for _ in range(256):
        assert decoder.feed(b"x" * 65536) == []
    # The pieces wait as they came (no buffer copied on every chunk) and are joined once.
    assert len(decoder._partial) == 257
    [payload] = decoder.feed(b"\n\n")
    assert len(payload) == 256 * 65536
    assert decoder._partial == []


def test_an_event_of_many_data_lines_is_capped() -> None:
    decoder = SSEDecoder(max_line=1000)
    with pytest.raises(ProtocolError, match="event longer than 1000"):
        for _ in range(200):
            decoder.feed(b"data: xxxxxxxx\n")


def test_blank_run_collapsing_keeps_event_boundaries() -> None:
    decoder = SSEDecoder()
    raw = b'data: {"a"\r\n\r\n\r\n\r\n: c\n\n\n\ndata: 2\n\n\n\n\ndata: 3'
    assert decoder.feed(raw) == ['{"a"', "2"]
    assert decoder.close() == ["3"]


def test_a_stream_of_empty_chunks_is_capped_too() -> None:
    assembler = StreamAssembler(max_text_chars=100)
    for _ in range(2 * 100 + 1024):
        assert assembler.feed(chunk({})) == []
    with pytest.raises(ProtocolError, match="more than 1224 chunks"):
        assembler.feed(chunk({}))


def test_an_answer_at_the_text_cap_in_one_character_chunks_is_accepted() -> None:
    assembler = StreamAssembler(max_text_chars=1000)
    assembler.feed(chunk({"role": "assistant", "content": ""}))
    for _ in range(1000):
        assembler.feed(chunk({"content": "x"}))
    assembler.feed(chunk({}, "stop"))
    assembler.feed({"choices": [], "usage": {"total_tokens": 1000}})
    _, response = assembler.finish()
    assert response.text == "x" * 1000


def test_a_whole_offered_name_with_complete_arguments_fires_at_once() -> None:
    assembler = StreamAssembler(tool_names={"set_light", "note"})
    first = assembler.feed(
        chunk({"tool_calls": [fragment(0, id="aaaaaaaaa", name="set_light", arguments="{}")]})
    )
    assert [r.call.name for r in ready(first)] == ["set_light"]


def test_a_name_that_another_offered_name_extends_still_waits() -> None:
    assembler = StreamAssembler(tool_names={"set_light", "set_light_color"})
    first = assembler.feed(
        chunk({"tool_calls": [fragment(0, id="aaaaaaaaa", name="set_light", arguments="{}")]})
    )
    assert ready(first) == []  # it might still become set_light_color
    more = assembler.feed(chunk({"tool_calls": [fragment(0, name="_color")]}))
    # Now a whole offered name that nothing extends, with complete arguments: it goes.
    assert [r.call.name for r in ready(more)] == ["set_light_color"]
    assert ready(assembler.feed(chunk({}, "tool_calls"))) == []


def test_a_prefix_of_an_offered_name_never_fires_on_its_own() -> None:
    assembler = StreamAssembler(tool_names={"set_light"})
    items = feed_all(
        assembler,
        [
            fragment(0, id="aaaaaaaaa", name="set_", arguments="{}"),
            fragment(0, name="light"),
        ],
    )
    # "set_" with complete arguments did not fire; the whole name did, on its last fragment.
    assert [(r.call.name, r.call.arguments) for r in ready(items)] == [("set_light", "{}")]
    assert ready(assembler.feed(chunk({}, "tool_calls"))) == []
