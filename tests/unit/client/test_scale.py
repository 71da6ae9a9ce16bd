"""Scale features of the model client: admission (a fair limit), session keys, cached tokens."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from voxagent import Agent
from voxagent.client import Admission, ModelClient, StreamDone
from voxagent.errors import ConfigurationError, ProtocolError
from voxagent.events import Event, TurnCompleted
from voxagent.testing import Reply, ScriptedServer

pytestmark = pytest.mark.anyio

USER = [{"role": "user", "content": "Hello."}]
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "audio"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def cached_usage(prompt: int, cached: Any) -> Any:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": 2,
        "total_tokens": prompt + 2,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


async def test_admission_lets_out_at_most_the_limit_first_come_first_served() -> None:
    admission = Admission(2)
    order: list[int] = []
    peak = 0
    release = anyio.Event()

    async def request(number: int) -> None:
        nonlocal peak
        async with admission.slot():
            order.append(number)
            peak = max(peak, admission.in_flight)
            await release.wait()

    async with anyio.create_task_group() as tg:
        for number in range(6):
            tg.start_soon(request, number)
            await anyio.lowlevel.checkpoint()  # arrival order is start order
        await anyio.wait_all_tasks_blocked()
        assert admission.in_flight == 2 and admission.waiting == 4
        release.set()
    assert peak == 2
    assert order == list(range(6))
    assert admission.in_flight == 0 and admission.waiting == 0 and admission.admitted == 6


async def test_a_request_cancelled_in_the_queue_loses_no_slot() -> None:
    admission = Admission(1)
    hold = anyio.Event()

    async def holder() -> None:
        async with admission.slot():
            await hold.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(holder)
        await anyio.wait_all_tasks_blocked()
        with anyio.move_on_after(0.01):
            async with admission.slot():
                pytest.fail("admitted past the limit")
        assert admission.waiting == 0
        hold.set()
    async with admission.slot() as waited:
        assert waited >= 0.0
    assert admission.in_flight == 0


def test_admission_rejects_a_limit_below_one() -> None:
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ConfigurationError):
            Admission(bad)  # type: ignore[arg-type]


async def test_session_key_is_sent_as_a_header_and_checked() -> None:
    async with ScriptedServer([Reply.text("a"), Reply.text("b")]) as server:
        async with ModelClient(server.base_url) as client:
            await client.chat(USER, session="conv-1")
            async with aclosing(client.stream_chat(USER, session="conv-1")) as stream:
                async for _ in stream:
                    pass
            for bad in ("", "a\r\nX-Evil: 1", "x" * 129, "é"):
                with pytest.raises(ConfigurationError):
                    await client.chat(USER, session=bad)
    # The first request is GET /models (the model name); it belongs to no conversation.
    assert [h.get("x-session-id") for h in server.headers] == [None, "conv-1", "conv-1"]
    assert server.errors == []


async def test_cached_tokens_come_from_prompt_tokens_details() -> None:
    replies = [
        Reply.text("a", usage=cached_usage(500, 384)),
        Reply.text("b", usage=cached_usage(600, 512)),
        Reply.text("c", usage={"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}),
        Reply.text("d", usage=cached_usage(5, "many")),
    ]
    async with ScriptedServer(replies) as server:
        async with ModelClient(server.base_url) as client:
            plain = await client.chat(USER)
            items = []
            async with aclosing(client.stream_chat(USER)) as stream:
                async for item in stream:
                    items.append(item)
            absent = await client.chat(USER)
            with pytest.raises(ProtocolError, match="cached_tokens"):
                await client.chat(USER)
    assert plain.usage is not None and plain.usage.cached_tokens == 384
    done = items[-1]
    assert isinstance(done, StreamDone) and done.response.usage is not None
    assert done.response.usage.cached_tokens == 512
    assert absent.usage is not None and absent.usage.cached_tokens == 0
    assert (plain.usage + done.response.usage).cached_tokens == 896


async def test_agents_sharing_an_admission_report_the_wait_and_the_cache() -> None:
    admission = Admission(1)
    replies = [Reply.text("OK.", delay=0.05, usage=cached_usage(400, 256)) for _ in range(3)]
    completed: list[TurnCompleted] = []

    def watch(event: Event) -> None:
        if isinstance(event, TurnCompleted):
            completed.append(event)

    async with ScriptedServer(replies) as server:
        agents = [Agent(base_url=server.base_url, admission=admission) for _ in range(3)]

        async def one(agent: Agent[None]) -> None:
            async with agent:
                await agent.ask(audio=EXAMPLES / "kitchen_light_on.wav", on_event=watch)

        async with anyio.create_task_group() as tg:
            for agent in agents:
                tg.start_soon(one, agent)
    assert server.errors == []
    waits = sorted(event.timings["admission"] for event in completed)
    assert waits[-1] >= 0.1  # the last in line waited for the two answers before it (50 ms each)
    assert waits[0] < waits[-1]
    assert all(event.usage["cached_tokens"] == 256 for event in completed)
    keys = [h.get("x-session-id") for h in server.headers if "x-session-id" in h]
    assert sorted(keys) == sorted(agent.conversation.session_key for agent in agents)
    assert admission.in_flight == 0


def test_vllm_is_started_with_prompt_token_details_for_chat_models() -> None:
    from voxagent.serve.command import vllm_command

    chat = vllm_command(
        "mistralai/Voxtral-Mini-3B-2507", port=8000, cpu=False, vllm_executable="vllm"
    )
    assert chat.count("--enable-prompt-tokens-details") == 1
    again = vllm_command(
        "mistralai/Voxtral-Mini-3B-2507",
        port=8000,
        cpu=False,
        vllm_executable="vllm",
        extra_args=["--enable-prompt-tokens-details", "--tensor-parallel-size", "2"],
    )
    assert again.count("--enable-prompt-tokens-details") == 1  # given again: not doubled
    assert again[-2:] == ["--tensor-parallel-size", "2"]
    realtime = vllm_command(
        "mistralai/Voxtral-Mini-4B-Realtime-2602", port=8000, cpu=False, vllm_executable="vllm"
    )
    assert "--enable-prompt-tokens-details" not in realtime
