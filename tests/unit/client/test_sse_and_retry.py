"""SSE decoding, stream assembly edge cases, Retry-After parsing and backoff (no sockets)."""

from __future__ import annotations

import math
import random

import pytest

from voxagent.client import RetryPolicy, TextDelta, ToolCallReady
from voxagent.client.errors import server_message
from voxagent.client.retry import parse_retry_after
from voxagent.client.sse import SSEDecoder, StreamAssembler
from voxagent.errors import ProtocolError, ServerError


def test_decoder_handles_split_lines_comments_crlf_and_multiline_data() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b': keep-alive\r\n\r\ndata: {"a"') == []
    assert decoder.feed(b": 1}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\n") == [
        '{"a": 1}',
        "line1\nline2",
    ]
    assert decoder.feed(b"data: [DONE]") == []
    assert decoder.close() == ["[DONE]"]


@pytest.mark.parametrize("line", [b"<html>\n", b"garbage here\n", b"foo: bar\n"])
def test_decoder_rejects_non_sse_lines(line: bytes) -> None:
    with pytest.raises(ProtocolError, match="malformed"):
        SSEDecoder().feed(line)


def test_decoder_caps_line_length() -> None:
    with pytest.raises(ProtocolError, match="longer than"):
        SSEDecoder(max_line=10).feed(b"data: " + b"x" * 20)


def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_assembler_whole_calls_in_one_delta_each_with_repeated_index() -> None:
    # Mistral's API sends each call whole; some servers reuse index 0 for every call.
    assembler = StreamAssembler()
    first = {"index": 0, "id": "aaaaaaaaa", "function": {"name": "f", "arguments": {"x": 1}}}
    second = {"index": 0, "id": "bbbbbbbbb", "function": {"name": "g", "arguments": "{}"}}
    items = assembler.feed(chunk({"tool_calls": [first]}))
    items += assembler.feed(chunk({"tool_calls": [second]}, "tool_calls"))
    items2, response = assembler.finish()
    assert [i.call.id for i in items + items2 if isinstance(i, ToolCallReady)] == [
        "aaaaaaaaa",
        "bbbbbbbbb",
    ]
    assert response.tool_calls[0].arguments == '{"x": 1}'


def test_assembler_emits_incomplete_arguments_at_finish_and_text_in_order() -> None:
    assembler = StreamAssembler()
    assert assembler.feed(chunk({"content": "Hi"})) == [TextDelta("Hi")]
    start = {"index": 0, "id": "abcdefghi", "function": {"name": "f", "arguments": '{"a": '}}
    assert assembler.feed(chunk({"tool_calls": [start]})) == []
    items = assembler.feed(chunk({}, "tool_calls"))
    assert [type(i) for i in items] == [ToolCallReady]
    _, response = assembler.finish()
    assert response.text == "Hi" and response.tool_calls[0].arguments == '{"a": '


def test_assembler_raises_for_error_chunk_and_nameless_call() -> None:
    with pytest.raises(ServerError, match="engine overloaded"):
        StreamAssembler().feed({"error": {"message": "engine overloaded", "code": 500}})
    assembler = StreamAssembler()
    assembler.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}))
    with pytest.raises(ProtocolError, match="no function name"):
        assembler.finish()


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("3", None, 3.0),
        (" 1.5 ", None, 1.5),
        ("-4", None, 0.0),
        ("soon", None, None),
        (None, None, None),
        ("Wed, 01 Jan 2031 00:00:10 GMT", "Wed, 01 Jan 2031 00:00:00 GMT", 10.0),
        ("Wed, 01 Jan 2031 00:00:00 GMT", "Wed, 01 Jan 2031 00:00:30 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, date: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, date_header=date, now=lambda: 0.0) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("nan", None), ("NaN", None), ("inf", math.inf), ("1e400", math.inf), ("-inf", 0.0)],
)
def test_retry_after_that_is_not_a_number_is_unreadable(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now=lambda: 0.0) == expected


def test_http_date_without_date_header_uses_injected_now() -> None:
    value = "Wed, 01 Jan 2031 00:00:10 GMT"
    assert parse_retry_after(value, now=lambda: 1924992000.0) == 10.0


def test_backoff_is_full_jitter_under_a_growing_cap() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=4, rng=random.Random(3))
    samples = {n: [policy.backoff(n) for _ in range(200)] for n in (1, 2, 3, 4)}
    for number, cap in [(1, 1), (2, 2), (3, 4), (4, 4)]:
        values = [v for v in samples[number] if v is not None]
        assert len(values) == 200 and max(values) <= cap and min(values) >= 0
        assert max(values) > cap * 0.8  # spread over the whole range, not a fixed delay
    assert policy.backoff(1, retry_after=2.5) == 2.5
    assert policy.backoff(1, retry_after=61) is None
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_backoff_without_jitter_is_the_cap_itself_and_never_overflows() -> None:
    """The realtime schedule (jitter=False), and a policy retried thousands of times."""
    fixed = RetryPolicy(base_delay=0.25, max_delay=1.5, jitter=False)
    assert [fixed.backoff(n) for n in (1, 2, 3, 4)] == [0.25, 0.5, 1.0, 1.5]
    assert fixed.backoff(2, retry_after=3.0) == 3.0  # the server's word still wins
    assert fixed.delay(5000) == 1.5  # 2.0 ** 4999 overflows a float: the cap, not a crash
    assert RetryPolicy(base_delay=0.0, jitter=False).delay(5000) == 0.0
    jittered = RetryPolicy(base_delay=1, max_delay=4, rng=random.Random(3))
    assert 0.0 <= jittered.delay(5000) <= 4.0


def test_server_message_shapes() -> None:
    assert server_message(b'{"error": {"message": "new", "code": 400}}') == "new"
    assert server_message(b'{"object": "error", "message": "old"}') == "old"
    assert server_message(b'{"detail": [{"msg": "field required"}]}') == "field required"
    assert server_message(b'{"error": "Unauthorized"}') == "Unauthorized"
    assert server_message(b"plain text") == "plain text"
    assert server_message(b"") is None
