"""In-process fakes of `voxagent.interfaces.ChatModel`: no socket, no HTTP, the same rules.

- `FunctionModel` calls your function with each request and answers with the `Reply` it returns.
- `ScriptedModel` answers from a list of `Reply`s, like `ScriptedServer` without the server.
- `TestModel` (`voxagent.testing.testmodel`) calls every tool once with arguments generated
  from its schema, then answers in text with what the tools returned.

Each builds the request body exactly as `ModelClient` does (`voxagent.client.request`), checks
it with `VllmValidator` (mistral_common, as vLLM does), and reads the answer through the
client's own parsers (`parse_chat`, `StreamAssembler`), so a fake is no more lenient than a
server and the loop sees what it would see over HTTP. Errors are the typed errors the client
raises for the same HTTP answer. What only a wire shows (transport faults, headers, retries,
timeouts) needs `ScriptedServer`.

Example:
    >>> model = ScriptedModel([Reply.tool_call("set_light", {"room": "kitchen", "on": True}),
    ...                        Reply.text("Done.")])
    >>> async with Agent(model, tools=[set_light]) as agent:
    ...     turn = await agent.ask(text="Kitchen light on")
    >>> assert model.errors == [] and len(model.requests) == 2
"""

from __future__ import annotations

import inspect
import json
import traceback
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import anyio
import anyio.lowlevel

from voxagent.client.answers import MAX_ANSWER_CHARS, parse_chat
from voxagent.client.body import encode_body
from voxagent.client.dialects import VLLM, Dialect
from voxagent.client.errors import error_from_response
from voxagent.client.request import chat_body, session_headers
from voxagent.client.sse import StreamAssembler
from voxagent.client.types import ChatResponse, ModelInfo, StreamDone, StreamItem
from voxagent.errors import ModelError
from voxagent.settings import ModelSettings
from voxagent.testing.records import Rejection, ScriptedRequest
from voxagent.testing.replies import Reply
from voxagent.testing.validation import InvalidRequest, VllmValidator
from voxagent.testing.wire import CallIds, chat_body as answer_body, error_body, stream_chunks

if TYPE_CHECKING:
    from voxagent.audio.clip import AudioClip

__all__ = ["FunctionModel", "ModelFunction", "ScriptedModel"]

ModelFunction = Callable[[ScriptedRequest], "Reply | str | Awaitable[Reply | str]"]
"""What a `FunctionModel` calls: the request (its body as a dict, as the server would read it)
to a `Reply` (or plain text, for a text answer)."""

_CHAT = "/v1/chat/completions"
_DEFAULT_SETTINGS = ModelSettings()


class FunctionModel:
    """A chat model that is a Python function of the request.

    Args:
        function: Called with each chat request (a `ScriptedRequest`: the JSON body as a dict);
            returns a `Reply` (text, tool calls, an error status, a delay) or a string. If it
            raises, the request fails as a server error (HTTP 500) and `errors` records it.
        model: The model name it serves.
        max_model_len: The context length it reports and enforces.
        max_audio: The most audio items per request (vLLM's limit for Voxtral is 5).
        dialect: How the agent renders messages for it (vLLM's by default).
        validate: Check each request as vLLM would (mistral_common); False skips it.
        transcribe: A function from a clip to its text, for the agent's transcript prefetch;
            None refuses transcription (HTTP 404), so compaction uses placeholders.
        seed: Seed of the tool call ids it makes (vLLM-style 9 alphanumerics).

    Attributes:
        requests: Every chat request body received, in order (also the refused ones).
        errors: Requests it refused without being told to (invalid ones, a raising function);
            a passing test normally asserts this is empty.
    """

    __test__ = False  # not a pytest test class, whatever its module is named

    def __init__(
        self,
        function: ModelFunction,
        *,
        model: str = "voxtral-test",
        max_model_len: int = 32768,
        max_audio: int = 5,
        dialect: Dialect = VLLM,
        validate: bool = True,
        transcribe: Callable[[AudioClip], str] | None = None,
        seed: int | None = 0,
    ) -> None:
        self.function = function
        self.model = model
        self.max_model_len = max_model_len
        self._dialect = dialect
        self._transcribe = transcribe
        self._validator = (
            VllmValidator(max_model_len=max_model_len, max_audio=max_audio) if validate else None
        )
        self._ids = CallIds(seed)
        self._served = 0
        self.requests: list[dict[str, Any]] = []
        self.errors: list[Rejection] = []

    @property
    def dialect(self) -> Dialect:
        """How messages are rendered for this model."""
        return self._dialect

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def resolve_model(self) -> ModelInfo:
        """The model it serves, with its context length."""
        return ModelInfo(id=self.model, max_model_len=self.max_model_len)

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        settings: ModelSettings | None = None,
        session: str | None = None,
    ) -> ChatResponse:
        """Answer one chat request whole (see `voxagent.interfaces.ChatModel.chat`)."""
        _, reply, prompt_tokens = await self._answer(
            messages, tools, settings or _DEFAULT_SETTINGS, session, stream=False
        )
        data = answer_body(
            reply,
            model=self.model,
            ids=self._call_ids(reply),
            prompt_tokens=prompt_tokens,
            request_id=f"chatcmpl-{self._served}",
        )
        # Through JSON and the client's own parser: the loop gets what HTTP would give it.
        return parse_chat(json.loads(json.dumps(data)), self._url, max_chars=MAX_ANSWER_CHARS)

    async def stream_chat(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        settings: ModelSettings | None = None,
        session: str | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Stream one answer (see `voxagent.interfaces.ChatModel.stream_chat`)."""
        body, reply, prompt_tokens = await self._answer(
            messages, tools, settings or _DEFAULT_SETTINGS, session, stream=True
        )
        assembler = StreamAssembler(
            max_text_chars=MAX_ANSWER_CHARS,
            max_argument_chars=MAX_ANSWER_CHARS,
            source=self._url,
            tool_names=frozenset(_names(body.get("tools"))),
        )
        chunks = stream_chunks(
            reply,
            model=self.model,
            ids=self._call_ids(reply),
            prompt_tokens=prompt_tokens,
            request_id=f"chatcmpl-{self._served}",
            include_usage=True,
        )
        for number, chunk in enumerate(chunks):
            if number and reply.chunk_delay:
                await anyio.sleep(reply.chunk_delay)
            else:
                await anyio.lowlevel.checkpoint()  # a stream lets other tasks run, as HTTP does
            for item in assembler.feed(json.loads(json.dumps(chunk))):
                yield item
        items, result = assembler.finish()
        for item in items:
            yield item
        yield StreamDone(result)

    async def transcribe(
        self, clip: AudioClip, *, language: str | None = None, max_completion_tokens: int = 512
    ) -> str:
        """The clip's text from the `transcribe` function given.

        Raises:
            ModelNotFoundError: no `transcribe` function was given (as a server without a
                transcription model answers).
        """
        if self._transcribe is None:
            raise self._error(404, "this FunctionModel has no transcribe function", "NotFound")
        return self._transcribe(clip)

    # ------------------------------------------------------------------ internals

    @property
    def _url(self) -> str:
        return f"function://{self.model}{_CHAT}"

    def _call_ids(self, reply: Reply) -> list[str]:
        return [call.id or self._ids.make() for call in reply.calls]

    def _error(self, status: int, message: str, kind: str | None = None) -> ModelError:
        raw = json.dumps(error_body(status, message, kind)).encode()
        return error_from_response(status, raw, url=self._url, model=self.model)

    def _refuse(self, body: Any, status: int, message: str, **why: Any) -> ModelError:
        self.errors.append(Rejection(_CHAT, status, message, body, **why))
        return self._error(status, message)

    async def _answer(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        settings: ModelSettings,
        session: str | None,
        *,
        stream: bool,
    ) -> tuple[dict[str, Any], Reply, int]:
        """Check the request, ask the function; return the body, the reply and the prompt size."""
        session_headers(session)  # the same check the client makes before sending
        made = chat_body(
            self.model, self.dialect, messages, tools=tools, settings=settings, stream=stream
        )
        body: dict[str, Any] = json.loads(encode_body(made))  # what the server would read
        self.requests.append(body)
        prompt_tokens = 0
        if self._validator is not None:
            try:
                # Loading the tokenizer and encoding audio are CPU work: off the event loop.
                prompt_tokens = await anyio.to_thread.run_sync(self._validator.check, body)
            except InvalidRequest as error:
                raise self._refuse(body, error.status, error.message) from None
        try:
            answer = self.function(ScriptedRequest(body, "chat", _CHAT))
            if inspect.isawaitable(answer):
                answer = await answer
        except _Unscripted as exc:  # not the test's function failing: the script ran out
            raise self._refuse(body, 500, str(exc), kind="unscripted") from None
        except Exception as exc:
            message = f"the model function raised {type(exc).__name__}: {exc}"
            raise self._refuse(
                body,
                500,
                message,
                kind="responder_error",
                exception=exc,
                traceback=traceback.format_exc(),
            ) from exc
        reply = Reply.text(answer) if isinstance(answer, str) else answer
        if not isinstance(reply, Reply):
            raise self._refuse(
                body, 500, f"the model function returned {type(reply).__name__}, not a Reply"
            )
        if reply.fault is not None:
            raise self._refuse(
                body, 500, f"fault {reply.fault!r} needs the wire: use ScriptedServer for it"
            )
        if reply.delay:
            await anyio.sleep(reply.delay)
        if reply.status != 200:
            raise self._error_reply(reply)
        self._served += 1
        return body, reply, prompt_tokens

    def _error_reply(self, reply: Reply) -> ModelError:
        given = reply.body
        if given is None:
            raw = json.dumps(
                error_body(reply.status, reply.message or f"scripted error {reply.status}")
            ).encode()
        elif isinstance(given, str):
            raw = given.encode()
        elif isinstance(given, bytes):
            raw = given
        else:
            raw = json.dumps(given).encode()
        return error_from_response(reply.status, raw, url=self._url, model=self.model)


class ScriptedModel(FunctionModel):
    """A chat model that answers from a script, in order: `ScriptedServer` without a server.

    Args:
        replies: `Reply`s, or functions of the request returning one, used in order.
        default: The answer once the script runs out (a `Reply` or a function); None refuses
            the request (HTTP 500, recorded in `errors` as "unscripted").
        **options: The options of `FunctionModel` (model, max_model_len, validate, ...).
    """

    def __init__(
        self,
        replies: Iterable[Reply | ModelFunction] = (),
        *,
        default: Reply | ModelFunction | None = None,
        **options: Any,
    ) -> None:
        super().__init__(self._next, **options)
        self._replies: deque[Reply | ModelFunction] = deque(replies)
        self.default = default

    @property
    def remaining(self) -> int:
        """Scripted replies not used yet."""
        return len(self._replies)

    async def _next(self, request: ScriptedRequest) -> Reply | str:
        item = self._replies.popleft() if self._replies else self.default
        if item is None:
            raise _Unscripted("the script has no reply left for this request")
        if isinstance(item, Reply):
            return item
        answer = item(request)
        return await answer if inspect.isawaitable(answer) else answer


class _Unscripted(Exception):
    """The script ran out."""


def _names(tools: Any) -> list[str]:
    names: list[str] = []
    for spec in tools or ():
        function = spec.get("function") if isinstance(spec, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            names.append(name)
    return names
