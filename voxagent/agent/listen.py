"""How an `Agent` runs listen sessions: the host a session sees, and the task that runs one.

A `ListenSession` (voxagent.live.session) knows the agent only through `TurnHost`; `AgentHost` is
that view of a real agent. `SessionRun` runs a session in the agent's own task group and never
raises into it: what failed is kept in `failure` and raised by `Agent.listen` itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from voxagent.aio import unwrap_group
from voxagent.conversation import UserTurn
from voxagent.errors import ConfigurationError, VoxagentError
from voxagent.events import Event
from voxagent.live.parts import ListenOptions, event_stream, is_live
from voxagent.live.replies import classify_yes_no
from voxagent.live.session import ListenSession
from voxagent.loop.speculation import ReadOnlyResults, Speculation
from voxagent.loop.state import chat_request
from voxagent.tools import RunContext, Tool, ToolResult
from voxagent.tools.invoke import tool_host

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from voxagent.agent import Agent
    from voxagent.approval import Approval
    from voxagent.audio import AudioSource
    from voxagent.audio.clip import AudioClip
    from voxagent.loop.state import TurnInput
    from voxagent.results import TurnResult

__all__ = ["AgentHost", "SessionRun", "closing_events", "listen_events", "listen_options"]

logger = logging.getLogger("voxagent.agent")


async def listen_events(
    agent: Agent[Any],
    source: AudioSource,
    push_to_talk: anyio.Event | None,
    scorer: Any,
) -> AsyncGenerator[Event, None]:
    """`Agent.listen`: run a listen session in the agent's task group, yield its events."""
    background = agent._background
    if background is None or agent._client is None:
        raise ConfigurationError(
            "the agent is not started",
            hint="use listen() inside `async with agent:` (that connects to the server)",
        )
    send, receive = event_stream()
    session = ListenSession(AgentHost(agent), listen_options(agent), send, live=is_live(source))
    run = SessionRun(session)
    # The session runs in the agent's own task group, so this generator never yields from
    # inside a cancel scope; leaving early cancels the session and waits for it to stop.
    background.start_soon(run.main, source, push_to_talk, scorer)
    try:
        async with receive:
            async for event in receive:
                yield event
    finally:
        run.scope.cancel()
        with anyio.CancelScope(shield=True):
            await run.done.wait()
    if run.failure is not None:
        raise run.failure


@contextlib.asynccontextmanager
async def closing_events(
    events: AsyncGenerator[Event, None],
) -> AsyncIterator[AsyncIterator[Event]]:
    """`Agent.listening`: the events of `listen`, closed (capture stopped) with the block."""
    async with contextlib.aclosing(events):
        yield events


def listen_options(agent: Agent[Any]) -> ListenOptions:
    """What a listen session needs to know of the agent's voice settings."""
    voice = agent.voice
    return ListenOptions(
        endpointing=voice.endpointing,
        barge_in=voice.barge_in,
        confirm_timeout=voice.confirm_timeout,
        clock=agent._clock,
        speaker=agent._speak_and_wait if voice.speaker is not None else None,
        live_transcriber=voice.live_transcriber,
        speculate=voice.speculate,
        turn_detector=voice.turn_detector,
        turn_policy=voice.turn_policy,
    )


class AgentHost:
    """The agent as a listen session sees it (the `TurnHost` interface)."""

    def __init__(self, agent: Agent[Any]) -> None:
        self._agent = agent

    def new_turn_id(self) -> int:
        return self._agent._next_turn_id()

    async def run_turn(
        self,
        user: TurnInput,
        emit: Callable[[Event], Awaitable[None]],
        *,
        turn_id: int,
        voice: Approval | None,
    ) -> TurnResult:
        return await self._agent._run_turn(user, emit, turn_id=turn_id, voice=voice)

    async def classify_reply(self, question: str, clip: AudioClip) -> bool:
        return await classify_yes_no(self._agent.client, question, clip)

    def read_only(self, tool: str) -> bool:
        found = self._agent.registry.get(tool)
        return found is not None and found.read_only

    def restore(self, clip: AudioClip, transcript: str | None) -> None:
        self._agent.conversation.add_user(audio=clip, transcript=transcript)

    def withdraw(self, clip: AudioClip) -> bool:
        agent = self._agent
        users = [turn for turn in agent.conversation.turns if isinstance(turn, UserTurn)]
        mine = next((turn for turn in reversed(users) if turn.audio is clip), None)
        if mine is None:
            return True  # cancelled before it was recorded
        if users[-1] is not mine or agent._turn_lock.locked():
            return False  # another turn (an ask() from elsewhere) came after it, or runs now
        agent.conversation.withdraw(mine)
        return True

    def speculate(
        self, clip: AudioClip, *, at: float, results: ReadOnlyResults, tools: TaskGroup
    ) -> Speculation | None:
        agent = self._agent
        client = agent._client
        if client is None or agent._turn_lock.locked():
            return None  # not started, or a turn (an ask() from elsewhere) is running
        request = chat_request(agent.settings, agent.registry, agent.conversation)
        messages = agent.conversation.render_next(
            client.dialect, audio=clip, budget=agent._budget, tools=request.tools
        )

        async def run_tool(tool: Tool[Any], values: Mapping[str, Any]) -> ToolResult:
            ctx = RunContext(deps=agent.deps, conversation=agent.conversation, audio=clip)
            with tool_host(agent._background):
                return await agent.registry.call(tool, values, ctx)

        return Speculation(
            client=client,
            messages=messages,
            request=request,
            at=at,
            registry=agent.registry,
            run_tool=run_tool,
            results=results,
            tools=tools,
            clock=agent._clock,
        )


class SessionRun:
    """One listen session run in the agent's task group; it never raises into that group."""

    def __init__(self, session: ListenSession) -> None:
        self.session = session
        self.scope = anyio.CancelScope()
        self.done = anyio.Event()
        self.failure: BaseException | None = None

    async def main(
        self, source: AudioSource, push_to_talk: anyio.Event | None, scorer: Any
    ) -> None:
        try:
            with self.scope:
                await self.session.run(source, push_to_talk, scorer)
        except anyio.get_cancelled_exc_class():
            raise  # the agent is closing
        except (VoxagentError, KeyboardInterrupt, SystemExit) as exc:
            self.failure = exc
        except BaseException as exc:
            leaf = unwrap_group(exc)
            if isinstance(leaf, VoxagentError | KeyboardInterrupt | SystemExit):
                self.failure = leaf
                return
            logger.error("listening failed unexpectedly", exc_info=exc)
            self.failure = VoxagentError(
                f"listening failed unexpectedly: {type(leaf).__name__}: {leaf}",
                hint="this is a bug in voxagent or a plug-in; the log has the traceback",
            )
        finally:
            self.session.events.close()
            self.done.set()
