"""A hostile (or broken) server: wrong-shaped answers, floods, trickles, redirects, random JSON.

Whatever a server sends, the client answers with a `VoxagentError` (almost always a
`ProtocolError` naming the field) or a valid result, in bounded time and without stalling the
event loop: never an AttributeError, a RecursionError or a request that hangs for minutes.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from voxagent import Agent, ModelSettings
from voxagent.client import ModelClient, ModelTimeoutError, StreamDone, TextDelta, ToolCallReady
from voxagent.client.answers import decode_json, parse_chat
from voxagent.client.sse import StreamAssembler
from voxagent.client.types import StreamItem
from voxagent.errors import ProtocolError, ServerError, VoxagentError
from voxagent.testing.http11 import Connection, IncomingRequest

from .conftest import loopback_server

pytestmark = pytest.mark.anyio
USER = [{"role": "user", "content": "hi"}]
MODELS = json.dumps({"object": "list", "data": [{"id": "m", "max_model_len": 4096}]}).encode()

Chat = Callable[[Connection, IncomingRequest], Awaitable[None]]


@asynccontextmanager
async def raw_server(chat: Chat) -> AsyncIterator[str]:
    """A loopback HTTP server listing model "m" and answering chat requests with `chat`."""
    async with loopback_server(MODELS, chat) as port:
        yield f"http://127.0.0.1:{port}/v1"


def whole(body: Any) -> Chat:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    async def chat(connection: Connection, request: IncomingRequest) -> None:
        await connection.respond(200, raw, "application/json")

    return chat


def sse_events(*events: Any) -> Chat:
    async def chat(connection: Connection, request: IncomingRequest) -> None:
        await connection.start(200, [("content-type", "text/event-stream")], length=None)
        for event in events:
            data = event if isinstance(event, bytes) else json.dumps(event).encode()
            await connection.write(b"data: " + data + b"\n\n")
        await connection.write(b"data: [DONE]\n\n")
        await connection.finish()

    return chat


def answer(message: Any = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }
    body.update(fields)
    return body


def good_call(**function: Any) -> dict[str, Any]:
    return {"id": "abcdefghi", "type": "function", "function": {"name": "f", **function}}


def chunk(delta: Any, finish: Any = None, **fields: Any) -> dict[str, Any]:
    body = {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    body.update(fields)
    return body


DEEP = b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

WRONG_ANSWERS = {
    "message-null": answer(None),
    "tool-calls-null-item": answer({"role": "assistant", "tool_calls": [None]}),
    "function-a-string": answer({"role": "assistant", "tool_calls": [{"function": "x"}]}),
    "tool-calls-a-number": answer({"role": "assistant", "tool_calls": 5}),
    "choices-a-string": {"choices": "x"},
    "choice-a-number": {"choices": [5]},
    "content-a-number": answer({"role": "assistant", "content": 5}),
    "content-part-text-a-number": answer({"content": [{"type": "text", "text": 5}]}),
    "content-part-a-string": answer({"content": ["hello"]}),
    "name-a-number": answer({"tool_calls": [good_call(name=5)]}),
    "arguments-a-list": answer({"tool_calls": [good_call(arguments=[1])]}),
    "id-a-number": answer({"tool_calls": [{**good_call(arguments="{}"), "id": 7}]}),
    "finish-reason-a-number": {
        "choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": 1}]
    },
    "model-a-list": answer({"content": "x"}, model=["m"]),
    "usage-a-string": answer({"content": "x"}, usage="lots"),
    "usage-huge-int": answer({"content": "x"}, usage={"prompt_tokens": 10**30}),
    "usage-negative": answer({"content": "x"}, usage={"total_tokens": -1}),
    "usage-a-bool": answer({"content": "x"}, usage={"completion_tokens": True}),
    "body-a-list": [answer({"content": "x"})],
    "body-null": None,
}


@pytest.mark.parametrize("body", WRONG_ANSWERS.values(), ids=WRONG_ANSWERS.keys())
def test_parse_chat_turns_every_wrong_shape_into_a_protocol_error(body: Any) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_chat(decode_json(json.dumps(body).encode(), "http://h/v1"), "http://h/v1")
    assert "http://h/v1" in caught.value.message and "\n" not in caught.value.message


def test_the_field_and_its_type_are_named() -> None:
    with pytest.raises(ProtocolError, match=r"tool_calls\[0\]\.function is a string"):
        parse_chat(WRONG_ANSWERS["function-a-string"], "http://h/v1")
    with pytest.raises(ProtocolError, match=r"usage\.prompt_tokens is a number"):
        parse_chat(WRONG_ANSWERS["usage-huge-int"], "http://h/v1")


def test_infinity_in_usage_is_a_protocol_error_not_an_overflow() -> None:
    raw = b'{"choices": [{"message": {"content": "x"}}], "usage": {"total_tokens": Infinity}}'
    with pytest.raises(ProtocolError, match="total_tokens"):
        parse_chat(decode_json(raw, "u"), "u")


@pytest.mark.parametrize("raw", [DEEP, b"[" * 100_000])
def test_deeply_nested_bodies_are_a_protocol_error_not_a_recursion_error(raw: bytes) -> None:
    with pytest.raises(ProtocolError, match="not JSON"):
        decode_json(raw, "http://h/v1")


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "engine died: out of KV cache", "code": 500}},
        {"object": "error", "message": "engine died: out of KV cache"},
        {"error": "engine died: out of KV cache", "choices": []},
    ],
)
def test_an_error_body_with_status_200_raises_with_the_servers_message(body: Any) -> None:
    with pytest.raises(ServerError, match="engine died: out of KV cache") as caught:
        parse_chat(body, "http://h/v1")
    assert caught.value.server_message == "engine died: out of KV cache"


WRONG_CHUNKS = {
    "delta-tool-calls-a-number": chunk({"tool_calls": 5}),
    "delta-a-string": chunk("x"),
    "choices-a-string": {"choices": "x"},
    "choices-false": {"choices": False},
    "choice-null": {"choices": [None]},
    "index-a-string": {"choices": [{"index": "0", "delta": {"content": "x"}}]},
    "fragment-null": chunk({"tool_calls": [None]}),
    "fragment-function-a-string": chunk({"tool_calls": [{"index": 0, "function": "x"}]}),
    "fragment-name-a-number": chunk({"tool_calls": [{"index": 0, "function": {"name": 5}}]}),
    "fragment-arguments-a-list": chunk(
        {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": [1]}}]}
    ),
    "fragment-index-a-float": chunk({"tool_calls": [{"index": 0.5, "function": {"name": "f"}}]}),
    "fragment-id-a-number": chunk({"tool_calls": [{"index": 0, "id": 1}]}),
    "content-a-number": chunk({"content": 5}),
    "finish-reason-a-list": chunk({}, ["stop"]),
    "usage-negative": chunk({}, usage={"total_tokens": -3}),
    "model-a-number": chunk({}, model=5),
    "chunk-a-list": [chunk({"content": "x"})],
    "chunk-a-number": 5,
}


@pytest.mark.parametrize("bad", WRONG_CHUNKS.values(), ids=WRONG_CHUNKS.keys())
def test_stream_assembler_turns_every_wrong_chunk_into_a_protocol_error(bad: Any) -> None:
    assembler = StreamAssembler(source="http://h/v1")
    assembler.feed(chunk({"content": "fine so far"}))
    with pytest.raises(ProtocolError) as caught:
        assembler.feed(bad)
    assert "http://h/v1" in caught.value.message


async def test_wrong_shaped_answers_through_agent_ask_are_protocol_errors() -> None:
    for body in (WRONG_ANSWERS["message-null"], WRONG_ANSWERS["tool-calls-null-item"]):
        async with raw_server(whole(body)) as base_url:
            agent: Agent[None] = Agent(base_url=base_url, settings=ModelSettings(stream=False))
            async with agent:
                with pytest.raises(ProtocolError, match="malformed answer"):
                    await agent.ask(text="hi")
    for bad in (WRONG_CHUNKS["delta-tool-calls-a-number"], WRONG_CHUNKS["fragment-null"]):
        async with raw_server(sse_events(chunk({"content": "a"}), bad)) as base_url:
            agent = Agent(base_url=base_url, settings=ModelSettings(stream=True))
            async with agent:
                with pytest.raises(ProtocolError, match="malformed answer"):
                    await agent.ask(text="hi")


async def test_a_stream_error_event_with_status_200_raises_with_the_servers_message() -> None:
    error = {"error": {"message": "engine died mid-stream", "code": 500}}
    async with raw_server(sse_events(chunk({"content": "a"}), error)) as base_url:
        agent: Agent[None] = Agent(base_url=base_url)
        async with agent:
            with pytest.raises(ServerError, match="engine died mid-stream"):
                await agent.ask(text="hi")


async def test_a_deeply_nested_chunk_is_a_protocol_error() -> None:
    async with raw_server(sse_events(chunk({"content": "a"}), DEEP)) as base_url:
        async with ModelClient(base_url, model="m") as client:
            with pytest.raises(ProtocolError, match="not JSON"):
                async with aclosing(client.stream_chat(USER)) as items:
                    async for _ in items:
                        pass


# ------------------------------------------------------------ B: floods, trickles, runaways


def endless_text(piece: str) -> Chat:
    data = b"data: " + json.dumps(chunk({"content": piece})).encode() + b"\n\n"

    async def chat(connection: Connection, request: IncomingRequest) -> None:
        await connection.start(200, [("content-type", "text/event-stream")], length=None)
        while True:
            await connection.write(data * 16)

    return chat


async def test_an_answer_streamed_forever_is_cut_at_the_size_cap_through_agent_ask() -> None:
    started = time.perf_counter()
    async with raw_server(endless_text("x" * 4096)) as base_url:
        agent: Agent[None] = Agent(base_url=base_url)
        async with agent:
            with pytest.raises(ProtocolError, match="longer than 1048576 characters"):
                await agent.ask(text="hi")
    assert time.perf_counter() - started < 10  # a second or so, not the 300 s deadline


async def test_the_size_cap_is_a_client_parameter_for_text_and_arguments() -> None:
    async with raw_server(endless_text("abcdefgh")) as base_url:
        async with ModelClient(base_url, model="m", max_answer_chars=1000) as client:
            seen: list[StreamItem] = []
            with pytest.raises(ProtocolError, match="longer than 1000 characters"):
                async with aclosing(client.stream_chat(USER)) as items:
                    async for item in items:
                        seen.append(item)
    assert sum(len(i.text) for i in seen if isinstance(i, TextDelta)) == 1000
    call = good_call(arguments=json.dumps({"a": "x" * 2000}))
    async with raw_server(whole(answer({"tool_calls": [call]}))) as base_url:
        async with ModelClient(base_url, model="m", max_answer_chars=1000) as client:
            with pytest.raises(ProtocolError, match="arguments for tool call 'f'"):
                await client.chat(USER)


async def test_an_endless_stream_of_empty_chunks_is_cut_too() -> None:
    async with raw_server(endless_text("")) as base_url:
        async with ModelClient(base_url, model="m", max_answer_chars=1000) as client:
            with pytest.raises(ProtocolError, match="more than 3024 chunks"):
                [_ async for _ in client.stream_chat(USER)]


def flood_then_answer(flood: bytes, repeat: int) -> Chat:
    async def chat(connection: Connection, request: IncomingRequest) -> None:
        await connection.start(200, [("content-type", "text/event-stream")], length=None)
        for _ in range(repeat):
            await connection.write(flood)
        final = chunk({"content": "made it"}, "stop")
        await connection.write(b"data: " + json.dumps(final).encode() + b"\n\ndata: [DONE]\n\n")
        await connection.finish()

    return chat


@pytest.mark.parametrize("flood", [b"\n" * 65536, b":\n" * 32768], ids=["blank", "comment"])
async def test_a_flood_of_blank_lines_is_fast_and_never_stalls_the_event_loop(
    flood: bytes,
) -> None:
    # Not timed (timings belong in benchmarks): the loop must get a turn many times while the
    # 8 MB flood is decoded. The old decoder held it for the whole flood (up to a second).
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            await anyio.lowlevel.checkpoint()
            turns += 1

    async with raw_server(flood_then_answer(flood, 128)) as base_url:  # 8 MB
        async with ModelClient(base_url, model="m") as client, anyio.create_task_group() as tg:
            tg.start_soon(other_task)
            await anyio.lowlevel.checkpoint()
            before = turns
            items = [i async for i in client.stream_chat(USER)]
            during = turns - before
            tg.cancel_scope.cancel()
    assert isinstance(items[-1], StreamDone) and items[-1].response.text == "made it"
    assert during >= 32, during  # at least once per 256 kB of the flood


def trickle(piece: bytes, every: float) -> Chat:
    async def chat(connection: Connection, request: IncomingRequest) -> None:
        await connection.start(200, [("content-type", "text/event-stream")], length=None)
        await connection.write(b"data: " + json.dumps(chunk({"content": "a"})).encode() + b"\n\n")
        while True:
            await anyio.sleep(every)
            await connection.write(piece)

    return chat


@pytest.mark.parametrize(
    "piece", [b": keep-alive\n\n", b"d"], ids=["keep-alive-comments", "one-byte-at-a-time"]
)
async def test_the_whole_request_timeout_bounds_a_trickling_stream(piece: bytes) -> None:
    started = time.perf_counter()
    async with raw_server(trickle(piece, 0.05)) as base_url:
        async with ModelClient(base_url, model="m", timeout=1.0) as client:
            seen: list[StreamItem] = []
            with pytest.raises(ModelTimeoutError, match="whole-request timeout"):
                async with aclosing(client.stream_chat(USER)) as items:
                    async for item in items:
                        seen.append(item)
    elapsed = time.perf_counter() - started
    assert 0.9 < elapsed < 3.0, elapsed  # each read was quick: only the deadline can end it
    assert seen == [TextDelta("a")]


async def test_the_whole_request_timeout_counts_from_the_request_not_per_read() -> None:
    # A float timeout is also the read timeout; the deadline must still win over many reads.
    async with raw_server(trickle(b": ping\n\n", 0.3)) as base_url:
        async with ModelClient(base_url, model="m", timeout=0.8) as client:
            started = time.perf_counter()
            with pytest.raises(ModelTimeoutError):
                [_ async for _ in client.stream_chat(USER)]
            assert time.perf_counter() - started < 2.0


# ------------------------------------------------------------ C: redirects


def redirect(status: int, location: str) -> Chat:
    async def chat(connection: Connection, request: IncomingRequest) -> None:
        await connection.respond(status, b"", "text/plain", [("location", location)])

    return chat


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("stream", [True, False])
async def test_a_redirect_to_another_origin_says_so_and_where_to_point_base_url(
    status: int, stream: bool
) -> None:
    target = "https://other.example:8443/api/v1/chat/completions"
    async with raw_server(redirect(status, target)) as base_url:
        agent: Agent[None] = Agent(base_url=base_url, settings=ModelSettings(stream=stream))
        async with agent:
            with pytest.raises(ProtocolError) as caught:
                await agent.ask(text="hi")
    message = caught.value.message
    assert f"HTTP {status}" in message
    assert "the server redirected to https://other.example:8443;" in message
    assert "voxagent does not follow redirects across origins" in message
    assert message.endswith("point base_url at https://other.example:8443/api/v1")
    assert "not JSON" not in str(caught.value)


async def test_a_same_origin_redirect_names_the_new_path() -> None:
    async with raw_server(redirect(308, "/v2/chat/completions")) as base_url:
        async with ModelClient(base_url, model="m") as client:
            with pytest.raises(ProtocolError) as caught:
                await client.chat(USER)
    origin = base_url.removesuffix("/v1")
    assert f"redirected to {origin}/v2/chat/completions" in caught.value.message
    assert caught.value.message.endswith(f"point base_url at {origin}/v2")


# ------------------------------------------------------------ H: random JSON everywhere

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


names = st.sampled_from(["set_light", "set_", "light", "", "f"])
argument_texts = st.sampled_from(
    ["{}", '{"room": "kitchen"}', '{"a', "", ':{"a": 1}', "}", "[1]", " ", '"x"}', "{}{"]
)
functions = st.fixed_dictionaries({}, optional={"name": names, "arguments": argument_texts})
ids = st.sampled_from(["abcdefghi", "bbbbbbbbb", ""])
whole_calls = st.fixed_dictionaries({"id": ids, "type": st.just("function"), "function": functions})
fragments = st.fixed_dictionaries(
    {"index": st.integers(0, 2)},
    optional={"id": ids, "type": st.just("function"), "function": functions},
)
contents = (
    st.none()
    | st.text(max_size=6)
    | st.lists(
        st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=4)}), max_size=2
    )
)
finish_reasons = st.none() | st.sampled_from(["stop", "tool_calls", "length"])
usages = st.fixed_dictionaries(
    {}, optional={k: st.integers(0, 1000) for k in ("prompt_tokens", "total_tokens")}
)


def _answer(message: dict[str, Any], finish: str | None, usage: Any) -> dict[str, Any]:
    body = {"id": "x", "object": "chat.completion", "model": "m", "usage": usage}
    return {**body, "choices": [{"index": 0, "message": message, "finish_reason": finish}]}


def _chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    body = {"id": "x", "object": "chat.completion.chunk", "model": "m"}
    return {**body, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


valid_answers = st.builds(
    _answer,
    st.fixed_dictionaries(
        {"role": st.just("assistant")},
        optional={"content": contents, "tool_calls": st.lists(whole_calls, max_size=3)},
    ),
    finish_reasons,
    st.none() | usages,
)
valid_chunks = st.builds(
    _chunk,
    st.fixed_dictionaries(
        {}, optional={"content": contents, "tool_calls": st.lists(fragments, max_size=2)}
    ),
    finish_reasons,
) | st.builds(lambda usage: {"choices": [], "usage": usage}, usages)
valid_streams = st.lists(valid_chunks, min_size=1, max_size=8)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a JSON value (the root included)."""
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*here, key))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            found += _paths(item, (*here, number))
    return found


def mutated(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid value with one to three positions replaced by random JSON (or removed)."""

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        value = {"root": draw(valid)}
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(_paths(value["root"], ("root",))))
            parent: Any = value
            for step in path[:-1]:
                parent = parent[step]
            if isinstance(parent, dict) and path[-1] != "root" and draw(st.booleans()):
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(json_values)
        return value["root"]

    return build()


chat_answers = mutated(valid_answers)
stream_chunks = mutated(valid_streams)

PROPERTY = settings(
    max_examples=400,
    derandomize=True,
    deadline=2000,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY
@given(data=chat_answers)
def test_random_json_in_a_chat_answer_is_a_result_or_a_voxagent_error(data: Any) -> None:
    started = time.perf_counter()
    try:
        # Through the JSON text, as from the wire (NaN and Infinity included).
        response = parse_chat(decode_json(json.dumps(data).encode(), "u"), "u")
    except VoxagentError:
        return
    finally:
        assert time.perf_counter() - started < 1.0
    assert response.text is None or (isinstance(response.text, str) and response.text)
    for call in response.tool_calls:
        assert isinstance(call.name, str) and call.name
        assert isinstance(call.arguments, str) and isinstance(call.id, str)
    usage = response.usage
    assert usage is None or all(
        type(n) is int and 0 <= n for n in (usage.prompt_tokens, usage.total_tokens)
    )


@PROPERTY
@given(chunks=stream_chunks)
def test_random_json_in_stream_chunks_is_items_or_a_voxagent_error(chunks: Any) -> None:
    assembler = StreamAssembler()
    items: list[StreamItem] = []
    started = time.perf_counter()
    try:
        for data in chunks if isinstance(chunks, list) else [chunks]:
            items += assembler.feed(decode_json(json.dumps(data).encode(), "u"))
        rest, response = assembler.finish()
    except VoxagentError:
        return
    finally:
        assert time.perf_counter() - started < 1.0
    items += rest
    ready = [i for i in items if isinstance(i, ToolCallReady)]
    # Each call announced exactly once, and the response holds exactly the announced calls.
    assert sorted(r.index for r in ready) == list(range(len(response.tool_calls)))
    assert tuple(r.call for r in sorted(ready, key=lambda r: r.index)) == response.tool_calls
    assert all(not r.truncated for r in ready) or response.finish_reason == "length"
    text = "".join(i.text for i in items if isinstance(i, TextDelta))
    assert (response.text or "") == text
    assert all(c.name for c in response.tool_calls)
