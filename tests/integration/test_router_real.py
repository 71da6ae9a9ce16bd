"""Two real vLLM replicas behind a real vllm-router: session affinity keeps the prefix cache.

A ten-turn spoken conversation goes through `vllm-router` to two vLLM CPU servers (the tiny
random-weight Voxtral, `--enable-prompt-tokens-details`). With `consistent_hash` the router hashes
voxagent's `X-Session-ID` header (the conversation's session key): every request lands on one
replica, and each request finds the previous one's prompt in that replica's prefix cache
(`usage.prompt_tokens_details.cached_tokens`). With `round_robin` the same conversation alternates
between replicas and loses that reuse. The figures are printed and written to
${VOXAGENT_CACHE}/logs/router-affinity.json (docs/benchmarks.md quotes a run).

vllm-router 0.1.17 refuses multipart transcription requests (`400 Invalid JSON body`: routes it
does not know go through a proxy that parses the body as JSON), so one more conversation on the
same router takes compaction's transcripts from one replica directly
(`VoiceSettings(transcriber=ModelClient(<replica>))`) while its chat requests go through the
router with their session key.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.from_thread
import httpx
import numpy as np
import pytest
import soundfile as sf

from voxagent import Agent, ModelSettings, VoiceSettings
from voxagent.client import ModelClient
from voxagent.conversation import UserTurn
from voxagent.conversation.messages import UNTRANSCRIBED_TEXT, VOICE_PREFIX
from voxagent.errors import VoxagentError
from voxagent.serve.server import VLLMServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.anyio,
    pytest.mark.timeout(900),
]

TOOLS = Path(__file__).resolve().parents[2] / "tools"
TURNS = 10
INSTRUCTIONS = "You control the lights of a flat."


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"voxagent_tools_{name}_router", TOOLS / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI needs the real router and servers: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class Replica:
    origin: str
    model: str
    log_path: Path

    def chat_requests(self) -> int:
        """Chat requests this replica has answered so far (from its access log)."""
        return self.log_path.read_text(errors="replace").count('"POST /v1/chat/completions')

    def transcriptions(self) -> tuple[int, int]:
        """Transcription requests this replica has answered so far, and how many with 200 OK."""
        text = self.log_path.read_text(errors="replace")
        line = '"POST /v1/audio/transcriptions HTTP/1.1"'
        return text.count(line), text.count(f"{line} 200")


@pytest.fixture(scope="module")
def replicas(vllm_chat_server: Any, _vllm_tool: ModuleType) -> Iterator[list[Replica]]:
    """The session's chat server and a second one like it: two data-parallel replicas."""
    first = Replica(
        vllm_chat_server.base_url.removesuffix("/v1"),
        vllm_chat_server.model,
        vllm_chat_server.log_path,
    )
    with anyio.from_thread.start_blocking_portal() as portal:
        server: VLLMServer = _vllm_tool.tiny_server()
        try:
            portal.call(server.start)
        except VoxagentError as error:
            _unavailable(f"the second vLLM replica did not start: {error}")
        try:
            second = Replica(server.base_url.removesuffix("/v1"), first.model, server.log_path)
            yield [first, second]
        finally:
            portal.call(server.stop)


@pytest.fixture(scope="module")
def router_tool() -> ModuleType:
    tool = _load("vllm_router")
    try:
        tool.install(progress=lambda line: print(f"[vllm-router] {line}", file=sys.stderr))
    except (subprocess.CalledProcessError, OSError) as error:
        _unavailable(f"installing vllm-router failed: {error}")
    return tool


def _clip(seed: int) -> bytes:
    """A 2 s 16 kHz mono WAV of noise: the tiny model's answers do not depend on meaning."""
    samples = np.random.default_rng(seed).uniform(-0.3, 0.3, 32000).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@dataclass
class Conversation:
    prompt: list[int]
    cached: list[int]
    extends: list[bool]  # request k's messages start with request k-1's (history unchanged)
    served: list[int]  # chat requests each replica answered during the conversation

    def reuse(self) -> float:
        """Cached tokens / the previous prompt, over the turns whose history did not change."""
        turns = [k for k in range(1, TURNS) if self.extends[k]]
        return sum(self.cached[k] for k in turns) / sum(self.prompt[k - 1] for k in turns)

    def share(self) -> float:
        """Cached tokens / all prompt tokens, from the second turn on."""
        return sum(self.cached[1:]) / sum(self.prompt[1:])


def set_light(room: str, on: bool) -> str:
    """Switch a light on or off.

    Args:
        room: Which room's light.
        on: True to switch on.
    """
    return f"{room} {'on' if on else 'off'}"


async def _converse(
    base_url: str, model: str, replicas: list[Replica], *, seed: int, tools: bool = False
) -> Conversation:
    bodies: list[list[Any]] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/chat/completions"):
            bodies.append(json.loads(request.content)["messages"])

    before = [r.chat_requests() for r in replicas]
    prompt: list[int] = []
    cached: list[int] = []
    async with httpx.AsyncClient(timeout=300, event_hooks={"request": [record]}) as http:
        agent = Agent(
            model=model,
            base_url=base_url,
            instructions=INSTRUCTIONS,
            http_client=http,
            settings=ModelSettings(
                max_tokens=8,
                temperature=0.0,
                seed=0,
            ),
            tools=[set_light] if tools else (),
        )
        async with agent:
            # Each conversation has its own clips: a replica must not find another's prefix.
            for number in range(TURNS):
                turn = await agent.ask(audio=_clip(seed + number))
                assert turn.rounds == 1
                prompt.append(turn.usage.prompt_tokens)
                cached.append(turn.usage.cached_tokens)
    extends = [False] + [new[: len(old)] == old for old, new in itertools.pairwise(bodies)]
    served = [r.chat_requests() - b for r, b in zip(replicas, before, strict=True)]
    return Conversation(prompt, cached, extends, served)


@dataclass
class Transcribed:
    served: list[int]  # chat requests each replica answered during the conversation
    sessions: set[str | None]  # the X-Session-ID headers of the chat requests
    chat_hosts: set[str]  # where the agent sent its chat requests
    transcribed: list[tuple[int, int]]  # transcriptions each replica answered (all, 200 OK)
    compacted: list[str]  # what stands for the older voice messages in the last request
    transcripts: list[str]  # the transcripts the conversation holds for those turns
    session_key: str
    pool_closed: bool  # the transcriber's own connection pool, after the agent stopped


async def _converse_transcribed(
    base_url: str, model: str, replicas: list[Replica], *, seed: int
) -> Transcribed:
    """A spoken conversation through the router, its transcripts from replica 0 directly."""
    chats: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/chat/completions"):
            chats.append(request)

    before = [r.chat_requests() for r in replicas]
    transcribed_before = [r.transcriptions() for r in replicas]
    # Given unopened: the agent opens and closes it with itself (and its connection pool).
    transcriber = ModelClient(f"{replicas[0].origin}/v1", model=model, timeout=300)
    async with httpx.AsyncClient(timeout=300, event_hooks={"request": [record]}) as http:
        agent: Agent[None] = Agent(
            model=model,
            base_url=base_url,
            instructions=INSTRUCTIONS,
            http_client=http,
            settings=ModelSettings(max_tokens=8, temperature=0.0, seed=0),
            voice=VoiceSettings(transcriber=transcriber),
        )
        async with agent:
            for number in range(TURNS):
                await agent.ask(audio=_clip(seed + number))
            # Transcripts are fetched in the background and never waited for by a turn: wait
            # here until the turns the last request compacted have theirs, then ask once more.
            compacted = len(_compacted_texts(json.loads(chats[-1].content)))
            for _ in range(600):
                if all(turn.transcript for turn in _user_turns(agent)[:compacted]):
                    break
                await anyio.sleep(0.2)
            await agent.ask(text="What did I say first?")
            transcripts = [t.transcript or "" for t in _user_turns(agent)[:compacted]]
            session_key = agent.conversation.session_key
    return Transcribed(
        served=[r.chat_requests() - b for r, b in zip(replicas, before, strict=True)],
        sessions={request.headers.get("X-Session-ID") for request in chats},
        chat_hosts={f"{request.url.scheme}://{request.url.netloc.decode()}" for request in chats},
        transcribed=[
            (now[0] - then[0], now[1] - then[1])
            for now, then in zip(
                [r.transcriptions() for r in replicas], transcribed_before, strict=True
            )
        ],
        compacted=_compacted_texts(json.loads(chats[-1].content)),
        transcripts=transcripts,
        session_key=session_key,
        pool_closed=transcriber._transport.http.is_closed,
    )


def _user_turns(agent: Agent[Any]) -> list[UserTurn]:
    return [turn for turn in agent.conversation.turns if isinstance(turn, UserTurn)]


def _compacted_texts(body: dict[str, Any]) -> list[str]:
    """The texts standing for compacted voice messages in a chat request's messages."""
    texts: list[str] = []
    for message in body["messages"]:
        if message["role"] == "user":
            content = message["content"]
            parts = [content] if isinstance(content, str) else [p.get("text", "") for p in content]
            texts += [t for t in parts if t.startswith((VOICE_PREFIX, UNTRANSCRIBED_TEXT))]
    return texts


def _report(name: str, result: Conversation) -> dict[str, Any]:
    print(f"\n{name}: chat requests per replica {result.served}")
    print("turn | prompt | cached | share | history unchanged")
    for k in range(TURNS):
        share = result.cached[k] / result.prompt[k]
        row = f"{k + 1:4} | {result.prompt[k]:6} | {result.cached[k]:6} | {share:5.0%}"
        print(f"{row} | {result.extends[k]}")
    print(f"reuse of the previous prompt {result.reuse():.1%}, cached share {result.share():.1%}")
    return {**result.__dict__, "reuse": result.reuse(), "share": result.share()}


async def test_session_key_keeps_a_conversation_on_one_replica_and_its_prefix_cached(
    replicas: list[Replica], router_tool: ModuleType
) -> None:
    origins = [r.origin for r in replicas]
    model = replicas[0].model
    results: dict[str, Any] = {}
    with router_tool.Router(origins, policy="consistent_hash") as router:
        sticky = await _converse(router.base_url, model, replicas, seed=0)
        # The same with a tool registered: Voxtral 2507's tokenizer (v7) puts the tool schemas
        # before the newest user message, so each turn recomputes the previous user turn.
        tooled = await _converse(router.base_url, model, replicas, seed=1000, tools=True)
        # Compaction's transcripts from replica 0 itself (the router cannot pass them).
        transcribed = await _converse_transcribed(router.base_url, model, replicas, seed=3000)
        router_url = router.base_url
    results["consistent_hash"] = _report("consistent_hash (X-Session-ID)", sticky)
    results["consistent_hash_with_tools"] = _report("consistent_hash, one tool", tooled)
    print(f"\ntranscripts from replica 0 directly: chat requests per replica {transcribed.served}")
    print(f"transcriptions per replica (all, 200 OK): {transcribed.transcribed}")
    print(f"compacted in the last request: {transcribed.compacted}")
    results["transcriber_direct"] = {
        "served": transcribed.served,
        "transcriptions": transcribed.transcribed,
        "compacted": transcribed.compacted,
    }
    with router_tool.Router(origins, policy="round_robin") as router:
        spread = await _converse(router.base_url, model, replicas, seed=2000)
    results["round_robin"] = _report("round_robin", spread)
    out = router_tool.cache_root() / "logs" / "router-affinity.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))

    # Affinity: all ten requests on one replica, none on the other.
    assert sorted(sticky.served) == [0, TURNS]
    # Compaction (the 6th and 9th clips push older audio into text, three at a time) is the
    # only time history changes; every other request extends the previous one. (The agent's
    # background transcripts cannot change it either: vllm-router 0.1.17 refuses multipart
    # transcription requests, so compacted clips keep their placeholder.)
    assert sticky.extends == [False, True, True, True, True, False, True, True, False, True]
    # ... and the replica serves the previous prompt from its cache (block-granular: vLLM's
    # CPU backend caches whole 128-token blocks).
    assert sticky.reuse() >= 0.9
    assert all(sticky.cached[k] > 0 for k in range(1, TURNS) if sticky.extends[k])
    # Without affinity the conversation alternates and each replica only has older prefixes.
    assert min(spread.served) >= 3
    assert spread.share() <= sticky.share() - 0.1
    # Tools cost reuse with this tokenizer (the share is still above nothing: older turns stay).
    assert sorted(tooled.served) == [0, TURNS]
    assert tooled.reuse() < sticky.reuse()
    # With a transcriber of its own, the agent's chat still goes through the router with the
    # session key and stays on one replica ...
    assert transcribed.chat_hosts == {router_url.removesuffix("/v1")}
    assert transcribed.sessions == {transcribed.session_key}
    assert sorted(transcribed.served) == [0, TURNS + 1]
    # ... while every transcription went to replica 0 itself, and was answered.
    (direct, answered), on_the_other = transcribed.transcribed
    assert direct >= 3 and answered == direct and on_the_other == (0, 0)
    assert transcribed.pool_closed  # the agent closed the transcriber it was given unopened
    # The compacted turns carry their real transcripts, not the placeholder.
    assert len(transcribed.compacted) >= 3, transcribed.compacted
    assert UNTRANSCRIBED_TEXT not in transcribed.compacted
    expected = [f"{VOICE_PREFIX} {text.strip()}" for text in transcribed.transcripts]
    assert transcribed.compacted == expected
