"""ModelClient retries, timeouts, error mapping and malformed answers (scripted server)."""

from __future__ import annotations

import random
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import anyio
import pytest

from voxagent.client import ModelClient, ModelTimeoutError, RetryPolicy, StreamDone, TextDelta
from voxagent.client.types import StreamItem
from voxagent.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContextLengthError,
    ModelNotFoundError,
    ProtocolError,
    RateLimitError,
    ServerError,
    ServerUnavailableError,
)
from voxagent.testing import Reply, ScriptedServer

pytestmark = pytest.mark.anyio
USER = [{"role": "user", "content": "hi"}]


def policy(**kw: Any) -> RetryPolicy:
    return RetryPolicy(rng=random.Random(1), **kw)


async def stream_all(client: ModelClient) -> list[StreamItem]:
    items: list[StreamItem] = []
    async with aclosing(client.stream_chat(USER)) as stream:
        async for item in stream:
            items.append(item)
    return items


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retryable_status_then_success(status: int, fake_sleep: Any) -> None:
    async with ScriptedServer([Reply.error(status, "busy"), Reply.text("ok")]) as server:
        async with ModelClient(
            server.base_url, model="voxtral-test", retry=policy(), sleep=fake_sleep
        ) as client:
            assert (await client.chat(USER)).text == "ok"
    assert len(server.requests) == 2
    (delay,) = fake_sleep.delays
    assert 0 <= delay <= 0.5  # full jitter under base_delay for the first retry


async def test_backoff_grows_and_attempts_are_limited(fake_sleep: Any) -> None:
    script = [Reply.error(503, "down")] * 4
    async with ScriptedServer(script) as server:
        async with ModelClient(
            server.base_url,
            model="voxtral-test",
            retry=policy(max_attempts=4, base_delay=1, max_delay=3),
            sleep=fake_sleep,
        ) as client:
            with pytest.raises(ServerError) as info:
                await client.chat(USER)
    assert len(server.requests) == 4
    assert info.value.status_code == 503 and info.value.server_message == "down"
    assert len(fake_sleep.delays) == 3
    assert all(d <= cap for d, cap in zip(fake_sleep.delays, [1, 2, 3], strict=True))


async def test_retry_after_seconds_is_honoured(fake_sleep: Any) -> None:
    script = [Reply.error(429, "slow down", headers={"Retry-After": "7"}), Reply.text("ok")]
    async with ScriptedServer(script) as server:
        async with ModelClient(server.base_url, model="voxtral-test", sleep=fake_sleep) as client:
            await client.chat(USER)
    assert fake_sleep.delays == [7.0]


async def test_retry_after_http_date_is_measured_from_the_date_header(fake_sleep: Any) -> None:
    now = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    headers = {
        "Retry-After": format_datetime(now + timedelta(seconds=4), usegmt=True),
        "Date": format_datetime(now, usegmt=True),
    }
    script = [Reply.error(503, "restarting", headers=headers), Reply.text("ok")]
    async with ScriptedServer(script) as server:
        async with ModelClient(server.base_url, model="voxtral-test", sleep=fake_sleep) as client:
            await client.chat(USER)
    assert fake_sleep.delays == [4.0]


async def test_retry_after_beyond_cap_gives_up_at_once(fake_sleep: Any) -> None:
    script = [Reply.error(429, "quota", headers={"Retry-After": "3600"}), Reply.text("never")]
    async with ScriptedServer(script) as server:
        async with ModelClient(server.base_url, model="voxtral-test", sleep=fake_sleep) as client:
            with pytest.raises(RateLimitError, match="quota"):
                await client.chat(USER)
    assert fake_sleep.delays == [] and len(server.requests) == 1


async def test_dropped_connection_before_headers_is_retried(fake_sleep: Any) -> None:
    async with ScriptedServer([Reply.drop(), Reply.text("ok")]) as server:
        async with ModelClient(server.base_url, model="voxtral-test", sleep=fake_sleep) as client:
            assert (await client.chat(USER)).text == "ok"
    assert len(server.requests) == 2 and len(fake_sleep.delays) == 1


async def test_stream_dropped_midway_is_not_retried(fake_sleep: Any) -> None:
    script = [
        Reply.text("partial answer here", chunk_size=4, fault="drop", fault_after=2),
        Reply.text("must not be requested"),
    ]
    async with ScriptedServer(script) as server:
        async with ModelClient(server.base_url, model="voxtral-test", sleep=fake_sleep) as client:
            seen: list[StreamItem] = []
            with pytest.raises(ServerUnavailableError, match="mid-answer"):
                async with aclosing(client.stream_chat(USER)) as stream:
                    async for item in stream:
                        seen.append(item)
    assert [i for i in seen if isinstance(i, TextDelta)] == [TextDelta("part")]
    assert len(server.requests) == 1 and server.pending == 1


async def test_non_stream_body_cut_is_not_retried(fake_sleep: Any) -> None:
    script = [Reply.text("cut", fault="drop", fault_after=0), Reply.text("no")]
    async with ScriptedServer(script) as server:
        async with ModelClient(server.base_url, model="voxtral-test", sleep=fake_sleep) as client:
            with pytest.raises(ServerUnavailableError):
                await client.chat(USER)
    assert len(server.requests) == 1


async def test_connection_refused_is_retried_then_unavailable(fake_sleep: Any) -> None:
    with anyio.fail_after(20):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        await listener.aclose()
        async with ModelClient(
            f"http://127.0.0.1:{port}/v1", model="m", sleep=fake_sleep
        ) as client:
            with pytest.raises(ServerUnavailableError) as info:
                await client.chat(USER)
    assert "voxagent serve" in (info.value.hint or "")
    assert len(fake_sleep.delays) == 2


async def test_whole_request_timeout_before_headers() -> None:
    async with ScriptedServer([Reply.hang()]) as server:
        async with ModelClient(
            server.base_url, model="voxtral-test", timeout=0.5, retry=policy(max_attempts=1)
        ) as client:
            with pytest.raises(ModelTimeoutError):
                await client.chat(USER)


async def test_timeout_mid_stream_keeps_what_arrived() -> None:
    async with ScriptedServer(
        [Reply.hang(after_chunks=2, content="abcdefgh", chunk_size=4)]
    ) as server:
        async with ModelClient(server.base_url, model="voxtral-test", timeout=0.5) as client:
            seen: list[StreamItem] = []
            with pytest.raises(ModelTimeoutError):
                async with aclosing(client.stream_chat(USER)) as stream:
                    async for item in stream:
                        seen.append(item)
    assert seen == [TextDelta("abcd")]
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("reply", "error", "fragment"),
    [
        (
            Reply.error(400, "Tool call id was abc but must be a-z, A-Z, 0-9, with a length of 9."),
            BadRequestError,
            "9 characters",
        ),
        (
            Reply.error(400, "At most 5 audio(s) may be provided in one prompt."),
            ContextLengthError,
            "audio",
        ),
        (
            Reply.error(
                400,
                "This model's maximum context length is 4096 tokens. However, your "
                "request has 5000 input tokens.",
            ),
            ContextLengthError,
            "max_model_len",
        ),
        (Reply.error(401, "Unauthorized"), AuthenticationError, "MISTRAL_API_KEY"),
        (Reply.error(500, "engine died"), ServerError, "log"),
    ],
)
async def test_error_statuses_map_to_typed_errors(
    reply: Reply, error: type[Exception], fragment: str, fake_sleep: Any
) -> None:
    async with ScriptedServer([reply]) as server:
        async with ModelClient(server.base_url, model="voxtral-test", sleep=fake_sleep) as client:
            with pytest.raises(error) as info:
                await client.chat(USER)
    assert reply.message is not None and reply.message in str(info.value)
    assert fragment in (getattr(info.value, "hint", "") or "")
    assert fake_sleep.delays == []


async def test_old_vllm_error_shape_is_read() -> None:
    body = {"object": "error", "message": "bad thing", "type": "BadRequestError", "code": 400}
    async with ScriptedServer([Reply.error(400, body=body)]) as server:
        async with ModelClient(server.base_url, model="voxtral-test") as client:
            with pytest.raises(BadRequestError) as info:
                await client.chat(USER)
    assert info.value.server_message == "bad thing"


async def test_wrong_model_is_404_with_served_models_in_hint() -> None:
    async with ScriptedServer([Reply.text("unused")], model="voxtral-test") as server:
        async with ModelClient(server.base_url, model="wrong-name") as client:
            with pytest.raises(ModelNotFoundError) as info:
                await client.chat(USER)
            with pytest.raises(ModelNotFoundError, match="wrong-name"):
                await client.resolve_model()
    assert "does not exist" in str(info.value)
    assert "voxtral-test" in (info.value.hint or "")


async def test_server_validation_rejection_surfaces_verbatim() -> None:
    bad = [
        {"role": "user", "content": "x"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "call-1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call-1", "content": "1"},
    ]
    async with ScriptedServer([Reply.text("unused")]) as server:
        async with ModelClient(server.base_url, model="voxtral-test") as client:
            with pytest.raises(BadRequestError, match="length of 9"):
                await client.chat(bad)
    assert len(server.errors) == 1 and server.pending == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text("abc", fault="malformed_sse", fault_after=2),
        Reply.text("abc", fault="bad_chunk_json", fault_after=2),
        Reply.text("abc", fault="end_early", fault_after=2),
        Reply.non_json(),
        Reply.huge(9 * 1024 * 1024),
    ],
    ids=["malformed-line", "bad-json", "ends-early", "html", "huge-line"],
)
async def test_malformed_streams_raise_protocol_error(reply: Reply) -> None:
    async with ScriptedServer([reply]) as server:
        async with ModelClient(server.base_url, model="voxtral-test") as client:
            with pytest.raises(ProtocolError):
                await stream_all(client)


async def test_stream_without_done_but_finished_is_accepted() -> None:
    async with ScriptedServer([Reply.text("complete", fault="no_done")]) as server:
        async with ModelClient(server.base_url, model="voxtral-test") as client:
            items = await stream_all(client)
    assert isinstance(items[-1], StreamDone) and items[-1].response.text == "complete"


@pytest.mark.parametrize("reply", [Reply.non_json(), Reply.huge(2 * 1024 * 1024)])
async def test_bad_non_stream_bodies_raise_protocol_error(reply: Reply) -> None:
    async with ScriptedServer([reply]) as server:
        async with ModelClient(
            server.base_url, model="voxtral-test", max_response_bytes=1024 * 1024
        ) as client:
            with pytest.raises(ProtocolError):
                await client.chat(USER)
    assert len(server.requests) == 1


async def test_script_exhausted_is_a_clear_server_error(fake_sleep: Any) -> None:
    async with ScriptedServer([]) as server:
        async with ModelClient(server.base_url, model="voxtral-test", sleep=fake_sleep) as client:
            with pytest.raises(ServerError, match="no scripted chat reply left"):
                await client.chat(USER)
    assert server.errors[0].status == 500


@pytest.mark.parametrize(
    "url", ["http://[bad/v1", "http://h:99999/v1", "http://u:hunter2pass@[::1/v1"]
)
def test_an_unparsable_base_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid base URL") as caught:
        ModelClient(url, model="m")
    assert "hunter2pass" not in str(caught.value)


@pytest.mark.parametrize(
    "options",
    [{"timeout": 0}, {"timeout": -1.0}, {"timeout": float("nan")}, {"max_answer_chars": 0}],
)
def test_limits_that_cannot_work_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ModelClient("http://127.0.0.1:8000/v1", model="m", **options)
