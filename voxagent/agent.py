"""`Agent`: a Voxtral voice agent with typed tools and a multi-turn conversation.

    agent = Agent(model="mistralai/Voxtral-Mini-3B-2507", base_url="http://127.0.0.1:8000/v1",
                  tools=[set_light], instructions="You control the lights.", deps=Home())
    async with agent:
        turn = await agent.ask(audio="cmd.wav")
        async for event in agent.listen(Microphone()):
            ...

`ask` runs one turn; `listen` turns utterances from an audio source into turns and streams
events. Both go through one turn runner (`_run_turn`: the turn lock, the loop in `voxagent.turn`,
the speaker).

The error contract: what leaves `ask`, `listen` and `async with agent` is a `VoxagentError` (or
cancellation, or a KeyboardInterrupt/SystemExit a tool let through), never an exception group.
The agent's background work (transcript prefetch, listen sessions) runs in a task group that only
ever holds tasks which cannot fail, and the user's exceptions never pass through it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import logging
import os
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import anyio

from voxagent import telemetry
from voxagent.aio import unwrap_group
from voxagent.approval import Approval, ApprovalPolicy, resolve_policy
from voxagent.clock import Clock
from voxagent.distribution import pip_install
from voxagent.errors import ConfigurationError, ModelError, SpeakerError, VoxagentError
from voxagent.events import AssistantMessage, AssistantTextDelta, Event
from voxagent.interfaces import ChatModel, Transcriber
from voxagent.listening import (
    ListenOptions,
    ListenSession,
    classify_yes_no,
    event_stream,
    is_live,
)
from voxagent.results import TurnResult
from voxagent.settings import ModelSettings, Speaker, VoiceSettings, upgrade_keywords
from voxagent.speculation import ReadOnlyResults, Speculation
from voxagent.speech_out import SpeechOut
from voxagent.tools import (
    RunContext,
    Tool,
    ToolFunction,
    ToolRegistry,
    ToolResult,
    tool as make_tool,
)
from voxagent.tools.deps import check_deps
from voxagent.tools.invoke import tool_host
from voxagent.turn import TurnEnv, TurnInput, run_turn
from voxagent.turn_state import chat_request

if TYPE_CHECKING:
    import httpx
    from anyio.abc import TaskGroup

    from voxagent.audio import AudioSource
    from voxagent.audio.clip import AudioClip
    from voxagent.audio.ingest import AudioInput
    from voxagent.client.admission import Admission
    from voxagent.conversation import Budget, Conversation

__all__ = ["Agent", "Speaker", "TurnResult"]

logger = logging.getLogger("voxagent.agent")

# The agent whose turn the current task (and the tool tasks it starts) is running: a tool that
# calls `ask()` on its own agent would wait for the turn lock its own turn holds.
_running_turn: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "voxagent_running_turn", default=None
)
# The speech of the turn the current task runs: a spoken question joins its queue.
_current_speech: contextvars.ContextVar[SpeechOut | None] = contextvars.ContextVar(
    "voxagent_current_speech", default=None
)

DepsT = TypeVar("DepsT")

_NO_SERVER_HINT = (
    f"install the managed server with `{pip_install('serve')}`, or point "
    "`--base-url` / VOXAGENT_BASE_URL at a running Voxtral server, or use Mistral's API: "
    "base_url='https://api.mistral.ai/v1' with MISTRAL_API_KEY set"
)


class Agent(Generic[DepsT]):
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
            detector, speculation, live captions, confirmations, slow-tool notices
            (`VoiceSettings`; its defaults when None).
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
            connection = {
                "base_url": base_url,
                "api_key": api_key,
                "dialect": dialect,
                "http_client": http_client,
                "admission": admission,
            }
            given = [name for name, value in connection.items() if value is not None]
            if given:
                raise ConfigurationError(
                    f"{', '.join(given)} cannot be used with a model object",
                    hint="configure the connection on the model itself (ModelClient(...))",
                )
            if not isinstance(model, ChatModel):
                raise ConfigurationError(
                    f"model must be a model name or a ChatModel, not {type(model).__name__}",
                    hint="pass a name such as 'mistralai/Voxtral-Mini-3B-2507', or a ModelClient",
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
        self._transcribing: set[str] = set()  # uids of user turns being transcribed
        self._untranscribable: set[str] = set()  # uids the server refused to transcribe

    # ----------------------------------------------------------------- tools

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

    # ------------------------------------------------------------- lifecycle

    @property
    def conversation(self) -> Conversation:
        """The conversation so far (save it with `agent.conversation.save(path)`)."""
        if self._conversation is None:
            from voxagent.conversation import Conversation

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
        from voxagent.conversation import Budget

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
            self._background = await stack.enter_async_context(anyio.create_task_group())
            self._client = client
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
        from voxagent.client import ModelClient

        base_url = self.base_url or os.environ.get("VOXAGENT_BASE_URL") or None
        if base_url is None:
            base_url = await self._start_managed_server(stack)
        client = ModelClient(
            base_url,
            model=self.model,
            dialect=self._dialect,
            api_key=self._api_key,
            http_client=self._http_client,
            timeout=self.settings.timeout,
            admission=self._admission,
        )
        return await stack.enter_async_context(client)

    async def _start_managed_server(self, stack: contextlib.AsyncExitStack) -> str:
        if self.model is None:
            raise ConfigurationError(
                "no server URL and no model to start a local server for",
                hint=f"pass model=..., or {_NO_SERVER_HINT}",
            )
        from voxagent.serve.server import VLLMServer, find_vllm

        if find_vllm() is None:
            raise ConfigurationError(
                "no Voxtral server URL was given and vLLM is not installed here",
                hint=_NO_SERVER_HINT,
            )
        server = VLLMServer(self.model, on_progress=lambda line: logger.info("vllm: %s", line))
        await stack.enter_async_context(server)
        return server.base_url

    # ------------------------------------------------------------------- ask

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
        clip = await self._prepare(audio, sample_rate) if audio is not None else None
        timings = {"prepare": self._clock() - started}

        async def emit(event: Event) -> None:
            if on_event is None:
                return
            try:
                outcome = on_event(event)
                if outcome is not None:
                    await outcome
            except Exception as exc:
                # The callback watches the turn; its failure must not break what it watches.
                logger.error(
                    "on_event callback failed on %s: %s", type(event).__name__, exc, exc_info=exc
                )

        user = TurnInput(text=text, clip=clip, tool_choice=tool_choice, timings=timings)
        return await self._run_turn(user, emit, turn_id=self._next_turn_id(), voice=None)

    def _next_turn_id(self) -> int:
        """Turn ids go on from the conversation's own turns (a loaded one does not restart)."""
        if self._turn_ids is None:
            from voxagent.conversation import UserTurn

            done = sum(1 for turn in self.conversation.turns if isinstance(turn, UserTurn))
            self._turn_ids = itertools.count(done + 1)
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
        """The one turn runner behind `ask` and `listen`: lock, loop, and speech out.

        With a speaker, the answer is spoken sentence by sentence as it streams (see
        `voxagent.speech_out`), in the turn's cancel scope: a barge-in stops it at once.
        """
        if _running_turn.get() is self:
            raise ConfigurationError(
                "a tool called ask() on its own agent while that agent's turn was running "
                "(it would wait for itself forever)",
                hint="return the result to the model instead, or use a second Agent",
            )
        client = self.client  # raises ConfigurationError outside `async with agent`
        speaker = self.voice.speaker
        if speaker is None:
            return await self._locked_turn(client, user, emit, turn_id, voice, None)
        speech = SpeechOut(functools.partial(telemetry.speak, speaker))

        async def speaking(event: Event) -> None:
            if isinstance(event, AssistantTextDelta):
                speech.text(event.text)
            elif isinstance(event, AssistantMessage):
                speech.message(event.text)
            await emit(event)

        failure: BaseException | None = None
        result: TurnResult | None = None
        async with anyio.create_task_group() as speaking_group:
            speaking_group.start_soon(speech.run)
            token = _current_speech.set(speech)
            try:
                result = await self._locked_turn(client, user, speaking, turn_id, voice, speech)
                await speech.finish()
            except BaseException as exc:  # kept out of the task group, raised as itself below
                failure = exc
                speaking_group.cancel_scope.cancel()
            finally:
                _current_speech.reset(token)
                speech.close()
        if failure is not None:
            raise failure
        assert result is not None
        if speech.error is not None:
            error = SpeakerError(
                f"the speaker failed: {type(speech.error).__name__}: {speech.error}",
                hint="the answer is recorded (error.result has it); check the speaker hook",
            )
            error.result = result
            raise error from speech.error
        return result

    async def _locked_turn(
        self,
        client: ChatModel,
        user: TurnInput,
        emit: Callable[[Event], Awaitable[None]],
        turn_id: int,
        voice: Approval | None,
        speech: SpeechOut | None,
    ) -> TurnResult:
        async with self._turn_lock:
            token = _running_turn.set(self)
            try:
                env = self._env(client, resolve_policy(self.approval, voice=voice), speech)
                with tool_host(self._background):
                    return await run_turn(env, user, turn_id, emit)
            except VoxagentError:
                raise
            except Exception as exc:
                # Not a failure voxagent knows how to type: keep the contract (one typed error,
                # with the cause chained and logged) rather than leak an arbitrary exception.
                logger.error("turn %d failed unexpectedly", turn_id, exc_info=exc)
                raise VoxagentError(
                    f"the turn failed unexpectedly: {type(exc).__name__}: {exc}",
                    hint="this is a bug in voxagent or a plug-in; the log has the traceback",
                ) from exc
            finally:
                _running_turn.reset(token)

    async def _speak_and_wait(self, text: str) -> None:
        """Say a question (for a spoken confirmation) after what the turn is saying already."""
        speech = _current_speech.get()
        if speech is not None:
            await speech.speak(text)
        elif self.voice.speaker is not None:
            await telemetry.speak(self.voice.speaker, text)

    async def _prepare(self, audio: AudioInput | AudioClip, sample_rate: int | None) -> AudioClip:
        from voxagent.audio.clip import AudioClip
        from voxagent.audio.ingest import check_clip, read_clip

        if isinstance(audio, AudioClip):
            # Built by hand, it can hold anything: a clip the server cannot decode would fail
            # every later request, so it is checked before it is recorded.
            check_clip(audio)
            return audio
        # Decoding and resampling are CPU work, and a pipe may never deliver: off the event
        # loop, abandoned at once on cancellation, bounded in size and length.
        return await read_clip(audio, sample_rate)

    def _env(
        self, client: ChatModel, approval: Approval, speech: SpeechOut | None = None
    ) -> TurnEnv:
        return TurnEnv(
            client=client,
            conversation=self.conversation,
            registry=self.registry,
            settings=self.settings,
            budget=self._budget,
            deps=self.deps,
            approval=approval,
            max_tool_rounds=self.max_tool_rounds,
            clock=self._clock,
            prefetch_transcripts=self._prefetch_transcripts,
            slow_tool_after=self.voice.slow_tool_after,
            slow_tool_notice=self.voice.slow_tool_notice,
            # The notice is queued with the answer's speech: it is neither talked over nor cut
            # off when the tool finishes.
            speaker=speech.say if speech is not None else None,
        )

    def _prefetch_transcripts(self) -> None:
        """Start transcribing audio turns that compaction will soon replace by text."""
        if self._background is None or self._budget is None:
            return
        if not isinstance(self._client, Transcriber):
            return  # a model that cannot transcribe: compaction uses placeholders
        specs = self.registry.to_openai() or None
        for turn in self.conversation.audio_to_transcribe(self._budget, tools=specs):
            if turn.audio is None or turn.uid in self._transcribing | self._untranscribable:
                continue
            self._transcribing.add(turn.uid)
            self._background.start_soon(self._transcribe_turn, turn)

    async def _transcribe_turn(self, turn: Any) -> None:
        # Background work: whatever happens here is a log line, never the user's exception.
        try:
            # Speech runs at about 3 tokens a second; leave room, but never let junk run long.
            budget = max(64, min(int(turn.audio.duration_s * 8), 1 << 20))
            client = self.client
            assert isinstance(client, Transcriber)  # checked before this task was started
            text = await client.transcribe(turn.audio, max_completion_tokens=budget)
            self.conversation.set_transcript(turn, text)
        except VoxagentError as exc:
            # Compaction falls back to a placeholder; the conversation stays valid. A refusal
            # (4xx: too long, bad audio) would be refused again: never upload that clip again.
            if isinstance(exc, ModelError) and (exc.status_code or 0) // 100 == 4:
                self._untranscribable.add(turn.uid)
            logger.warning("could not transcribe an earlier voice message: %s", exc.message)
        except Exception as exc:
            self._untranscribable.add(turn.uid)
            logger.error("transcribing an earlier voice message failed: %s", exc, exc_info=exc)
        finally:
            self._transcribing.discard(turn.uid)

    # ---------------------------------------------------------------- listen

    async def listen(
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
        background = self._background
        if background is None or self._client is None:
            raise ConfigurationError(
                "the agent is not started",
                hint="use listen() inside `async with agent:` (that connects to the server)",
            )
        send, receive = event_stream()
        session = ListenSession(
            _AgentHost(self), self._listen_options(), send, live=is_live(source)
        )
        run = _SessionRun(session)
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

        @contextlib.asynccontextmanager
        async def scope() -> AsyncIterator[AsyncIterator[Event]]:
            events = self.listen(source, push_to_talk=push_to_talk, scorer=scorer)
            async with contextlib.aclosing(events):
                yield events

        return scope()

    def _listen_options(self) -> ListenOptions:
        voice = self.voice
        return ListenOptions(
            endpointing=voice.endpointing,
            barge_in=voice.barge_in,
            confirm_timeout=voice.confirm_timeout,
            clock=self._clock,
            speaker=self._speak_and_wait if voice.speaker is not None else None,
            live_transcriber=voice.live_transcriber,
            speculate=voice.speculate,
            turn_detector=voice.turn_detector,
            turn_policy=voice.turn_policy,
        )


class _AgentHost:
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


class _SessionRun:
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
