"""`Agent`: a Voxtral voice agent with typed tools and a multi-turn conversation.

    agent = Agent(model="mistralai/Voxtral-Mini-3B-2507", base_url="http://127.0.0.1:8000/v1",
                  tools=[set_light], instructions="You control the lights.", deps=Home())
    async with agent:
        turn = await agent.ask(audio="cmd.wav")
        async for event in agent.listen(Microphone()):
            ...

`ask` runs one turn; `listen` turns utterances from an audio source into turns and streams
events. Both go through one turn runner (`voxagent.agent.turns`: the turn lock, the loop in
`voxagent.loop.turn`, the speaker).

The error contract: what leaves `ask`, `listen` and `async with agent` is a `VoxagentError` (or
cancellation, or a KeyboardInterrupt/SystemExit a tool let through), never an exception group.
The agent's background work (transcript prefetch, listen sessions) runs in a task group that only
ever holds tasks which cannot fail, and the user's exceptions never pass through it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import anyio

from voxagent import telemetry
from voxagent.agent.listen import closing_events, listen_events
from voxagent.agent.model import check_model_object, open_client
from voxagent.agent.speech import say_after_current
from voxagent.agent.transcripts import TranscriptPrefetch, open_transcriber
from voxagent.agent.turns import agent_turn, callback_emitter, count_user_turns, prepare_clip
from voxagent.approval import Approval, ApprovalPolicy
from voxagent.clock import Clock
from voxagent.conversation import Budget, Conversation
from voxagent.errors import ConfigurationError
from voxagent.events import Event
from voxagent.interfaces import ChatModel
from voxagent.loop.turn import TurnInput
from voxagent.results import TurnResult
from voxagent.settings import ModelSettings, OldAttributes, Speaker, VoiceSettings, upgrade_keywords
from voxagent.tools import (
    Tool,
    ToolFunction,
    ToolRegistry,
    tool as make_tool,
)
from voxagent.tools.deps import check_deps

if TYPE_CHECKING:
    import httpx

    from voxagent.audio import AudioSource
    from voxagent.audio.clip import AudioClip
    from voxagent.audio.ingest import AudioInput
    from voxagent.client.admission import Admission

__all__ = ["Agent", "Speaker", "TurnResult"]

logger = logging.getLogger("voxagent.agent")

DepsT = TypeVar("DepsT")


class Agent(OldAttributes, Generic[DepsT]):
    """A voice agent on a Voxtral model.

    Args:
        model: The model: a name the server serves (None: the server's first model; with no
            server URL, the model a managed local vLLM server is started for), or a
            `voxagent.interfaces.ChatModel` to use as it is (a `ModelClient` you configured, a
            `voxagent.testing.FunctionModel`, your own); the agent then leaves opening and
            closing it to you, and the connection arguments below must be left out.
        base_url: An OpenAI-compatible `/v1` URL (vLLM or Mistral's API). None: the
            VOXAGENT_BASE_URL environment variable, else a managed local vLLM server.
        api_key: Bearer key (Mistral's API; default MISTRAL_API_KEY).
        dialect: "vllm" or "mistral"; None detects it from the URL.
        http_client: An httpx.AsyncClient to use (you keep ownership of it).
        admission: A limit on model requests in flight shared by the agents given the same
            one (`voxagent.client.Admission`): over it, requests wait first come, first served;
            the wait is `timings["admission"]`. None: no limit.
        tools: Tools (from `@tool`) or plain functions, which are wrapped with `@tool`.
        instructions: What the agent is for; sent as a system message, or as text in the first
            user message while audio is present (Voxtral rejects a system prompt with audio).
        deps: Your application's state, handed to tools as `ctx.deps`.
        settings: How the model is asked: sampling, tool choice, max tokens, seed, streaming,
            the request deadline (`ModelSettings`; its defaults when None).
        voice: How the agent listens and talks: speaker, barge-in, endpointing, the turn
            detector, speculation, live captions, compaction's transcriber, confirmations,
            slow-tool notices (`VoiceSettings`; its defaults when None).
        approval: Who approves `confirm=True` tools: "ask" (by voice while listening; denied in
            `ask`, where nobody can answer), "always", "never", or an async callable.
        max_tool_rounds: Tool rounds per turn before the model must answer in text.
        max_audio_items: Audio clips per request (vLLM allows 5 for Voxtral by default).
        conversation: A conversation to continue (for example from `Conversation.load`).
        clock: Monotonic clock in seconds (injected in tests).
        **deprecated: The 0.1 keywords (`temperature=`, `speaker=`, ...): each still works for
            this release, with a `DeprecationWarning` naming its place in `settings` or `voice`.
    """

    def __init__(
        self,
        model: str | ChatModel | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dialect: Literal["vllm", "mistral"] | None = None,
        http_client: httpx.AsyncClient | None = None,
        admission: Admission | None = None,
        tools: Iterable[Tool[DepsT] | ToolFunction] = (),
        instructions: str | None = None,
        deps: DepsT = None,  # type: ignore[assignment]  # deps are optional; tools see None
        settings: ModelSettings | None = None,
        voice: VoiceSettings | None = None,
        approval: ApprovalPolicy = "ask",
        max_tool_rounds: int = 8,
        max_audio_items: int = 5,
        conversation: Conversation | None = None,
        clock: Clock = anyio.current_time,
        **deprecated: Any,
    ) -> None:
        if (
            isinstance(max_tool_rounds, bool)
            or not isinstance(max_tool_rounds, int)
            or (max_tool_rounds < 0)
        ):
            raise ConfigurationError(
                f"max_tool_rounds must be an integer >= 0, got {max_tool_rounds!r}",
                hint="use 0 to forbid tool calls, or a small number such as 8",
            )
        settings, voice = upgrade_keywords(settings, voice, deprecated)
        if not isinstance(model, str | None):
            check_model_object(
                model,
                base_url=base_url,
                api_key=api_key,
                dialect=dialect,
                http_client=http_client,
                admission=admission,
            )
        self.model = model if isinstance(model, str) else None
        self.base_url = base_url
        self.instructions = instructions
        self.deps = deps
        self.registry = ToolRegistry(tools)
        check_deps(self.registry, deps)
        self.settings = settings
        self.voice = voice
        self.approval = approval
        self.max_tool_rounds = max_tool_rounds
        self.max_audio_items = max_audio_items
        self._given_model: ChatModel | None = None if isinstance(model, str | None) else model
        self._conversation = conversation
        self._http_client = http_client
        self._api_key = api_key
        self._dialect = dialect
        self._clock = clock
        self._admission = admission
        self._client: ChatModel | None = None
        self._budget: Budget | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._background: anyio.abc.TaskGroup | None = None
        self._turn_lock = anyio.Lock()
        self._turn_ids: Iterator[int] | None = None  # counted on from the conversation
        self._prefetch: TranscriptPrefetch | None = None

    def tool(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Register a tool on this agent; usable as `@agent.tool` or `@agent.tool(confirm=True)`.

        Args:
            fn: The function (when used bare).
            **options: The options of `voxagent.tool` (name, description, confirm, timeout, ...).
        """

        def register(function: Callable[..., Any]) -> Tool[Any]:
            made = make_tool(**options)(function) if options else make_tool(function)
            check_deps([made], self.deps)
            return self.registry.add(made)

        return register(fn) if fn is not None else register

    @property
    def conversation(self) -> Conversation:
        """The conversation so far (save it with `agent.conversation.save(path)`)."""
        if self._conversation is None:
            self._conversation = Conversation(self.instructions)
        return self._conversation

    @property
    def client(self) -> ChatModel:
        """The chat model (a `ModelClient` unless you gave another; inside `async with agent`)."""
        if self._client is None:
            raise ConfigurationError(
                "the agent is not started",
                hint="use it inside `async with agent:` (that connects to the server)",
            )
        return self._client

    async def __aenter__(self) -> Agent[DepsT]:
        telemetry.enabled()  # OpenTelemetry is looked up (and imported) here, not in a turn
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            client = self._given_model or await self._open_client(stack)
            info = await client.resolve_model()
            self._budget = Budget(
                max_audio_items=self.max_audio_items,
                max_tokens=info.max_model_len,
                reserve_tokens=self.settings.max_tokens or 1024,
            )
            if self.voice.live_transcriber is not None:
                await stack.enter_async_context(self.voice.live_transcriber)
            transcriber = await open_transcriber(
                stack, self.voice.transcriber, client, self._given_model
            )
            self._background = await stack.enter_async_context(anyio.create_task_group())
            self._client = client
            if transcriber is not None:
                self._prefetch = TranscriptPrefetch(
                    transcriber, self.conversation, self._budget, self.registry, self._background
                )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if self._background is not None:
            # Prefetched transcripts are an optimisation and listen sessions end with their
            # agent: never make shutdown wait for them.
            self._background.cancel_scope.cancel()
        self._client = None
        self._background = None
        self._prefetch = None
        if stack is None:
            return
        if exc is not None and isinstance(exc, anyio.get_cancelled_exc_class()):
            await stack.__aexit__(exc_type, exc, tb)
            return
        # The user's own exception (a typed error from ask, or theirs) is not handed to the task
        # group inside the stack: it would come back wrapped in an ExceptionGroup. Nothing in the
        # group can fail, so closing it as if the block succeeded loses nothing, and Python
        # re-raises the user's exception as itself when this returns.
        await stack.aclose()

    async def _open_client(self, stack: contextlib.AsyncExitStack) -> ChatModel:
        """The HTTP client for the configured server (a managed one started when none is)."""
        return await open_client(
            stack,
            model=self.model,
            base_url=self.base_url,
            api_key=self._api_key,
            dialect=self._dialect,
            http_client=self._http_client,
            deadline_s=self.settings.timeout,
            admission=self._admission,
        )

    async def ask(
        self,
        audio: AudioInput | AudioClip | None = None,
        text: str | None = None,
        *,
        sample_rate: int | None = None,
        tool_choice: str | None = None,
        on_event: Callable[[Event], Awaitable[None] | None] | None = None,
    ) -> TurnResult:
        """Run one user turn (audio, text, or both) to its final answer.

        Args:
            audio: A file path, encoded file bytes, a numpy array (with `sample_rate`) or an
                `AudioClip`. Any rate and channel count: it is converted to 16 kHz mono.
            text: Text typed by the user, or an instruction sent with the audio.
            sample_rate: The rate of a numpy array or raw samples.
            tool_choice: Override the agent's tool_choice for this turn's first request.
            on_event: Called with every event of the turn, as it happens.

        Returns:
            The turn's answer, tool calls, timings and token usage.

        Raises:
            AudioError: The audio cannot be read (nothing is recorded in the conversation).
            ContextLengthError: The audio cannot fit the model's context (nothing is recorded).
            ModelError: The server failed; the user turn stays recorded and the conversation
                valid, so the next `ask` can go on.
            SpeakerError: The speaker hook failed; the answer is recorded (`error.result`).
            ConfigurationError: The agent is not started, or a tool of this agent's running turn
                called `ask` on it.

        Only `VoxagentError`s leave it (or cancellation, or a KeyboardInterrupt/SystemExit a tool
        raised, after the conversation is recorded). An `on_event` callback that raises is
        logged; the turn goes on.
        """
        if audio is None and not text:
            raise ConfigurationError(
                "ask() needs audio or text", hint="pass audio='file.wav' or text='...'"
            )
        started = self._clock()
        clip = await prepare_clip(audio, sample_rate) if audio is not None else None
        timings = {"prepare": self._clock() - started}

        emit = callback_emitter(on_event)
        user = TurnInput(text=text, clip=clip, tool_choice=tool_choice, timings=timings)
        return await self._run_turn(user, emit, turn_id=self._next_turn_id(), voice=None)

    def _next_turn_id(self) -> int:
        """Turn ids go on from the conversation's own turns (a loaded one does not restart)."""
        if self._turn_ids is None:
            self._turn_ids = itertools.count(count_user_turns(self.conversation) + 1)
        return next(self._turn_ids)

    @telemetry.traced_turn
    async def _run_turn(
        self,
        user: TurnInput,
        emit: Callable[[Event], Awaitable[None]],
        *,
        turn_id: int,
        voice: Approval | None,
    ) -> TurnResult:
        """The one turn runner behind `ask` and `listen` (see `voxagent.agent.turns`)."""
        return await agent_turn(self, user, emit, turn_id, voice)

    async def _speak_and_wait(self, text: str) -> None:
        """Say a question (for a spoken confirmation) after what the turn is saying already."""
        await say_after_current(self.voice.speaker, text)

    def _prefetch_transcripts(self) -> None:
        """Start transcribing audio turns that compaction will soon replace by text."""
        if self._prefetch is not None:
            self._prefetch.start()

    def listen(
        self,
        source: AudioSource,
        *,
        push_to_talk: anyio.Event | None = None,
        scorer: Any = None,
    ) -> AsyncGenerator[Event, None]:
        """Listen to an audio source; each utterance becomes a turn. Yields every event.

        Use it as `async with contextlib.aclosing(agent.listen(mic)) as events:` (or
        `async with agent.listening(mic) as events:`) when you may stop early, so capture stops
        at once. It ends when the source ends and the queued turns are done.

        A failed turn (the server, the speaker, captions) is an `ErrorEvent` and listening goes
        on. Speech from a source that is not live (a file not paced in real time, an array)
        never barges in: its utterances wait for their turn. From a live source (a microphone),
        speech during a turn cancels it (`barge_in="cancel"`) or waits (`"queue"`).

        Args:
            source: Any audio source (`Microphone()`, `AudioFile(...)`, ...).
            push_to_talk: When given, speech is taken only while this event is set.
            scorer: A voice-activity scorer (default: the library's default scorer).

        Raises:
            AudioError: The audio source failed (after the turns already heard are answered).
            ConfigurationError: The agent is not started.
        """
        return listen_events(self, source, push_to_talk, scorer)

    def listening(
        self,
        source: AudioSource,
        *,
        push_to_talk: anyio.Event | None = None,
        scorer: Any = None,
    ) -> contextlib.AbstractAsyncContextManager[AsyncIterator[Event]]:
        """`listen` as a context manager: `async with agent.listening(mic) as events:`.

        Leaving the block stops capture and the running turn (the conversation stays valid).
        """

        return closing_events(self.listen(source, push_to_talk=push_to_talk, scorer=scorer))
