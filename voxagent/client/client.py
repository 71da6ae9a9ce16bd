"""`ModelClient`: chat (plain and streamed), transcription and model listing over HTTP."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncGenerator
from contextlib import aclosing
from types import TracebackType
from typing import Any, Literal, Self

import anyio
import anyio.lowlevel
import httpx

from voxagent import telemetry
from voxagent.audio.clip import AudioClip
from voxagent.client.admission import Admission, admitted
from voxagent.client.answers import MAX_ANSWER_CHARS, decode_json, parse_chat, parse_models
from voxagent.client.auth import url_credentials
from voxagent.client.body import encode_body
from voxagent.client.dialects import Dialect
from voxagent.client.endpoints import checked_base_url, choose_model, pick_dialect, tool_names
from voxagent.client.errors import Redactor, public_url
from voxagent.client.request import chat_body, session_headers
from voxagent.client.retry import RetryPolicy
from voxagent.client.sse import StreamAssembler
from voxagent.client.stream_reader import read_events
from voxagent.client.timeouts import deadline_timeout, http_timeouts, tls_context
from voxagent.client.transcription import transcription_form, transcription_text
from voxagent.client.transport import Transport
from voxagent.client.types import ChatResponse, ModelInfo, StreamDone, StreamItem
from voxagent.clock import Clock, Sleep
from voxagent.errors import ConfigurationError, ModelError
from voxagent.settings import ModelSettings

__all__ = ["ModelClient"]

_DEFAULT_SETTINGS = ModelSettings()


class ModelClient:
    """Talks to a Voxtral server (vLLM or Mistral's API) over its OpenAI-compatible HTTP API.

    Use it as an async context manager (or call `aclose()`): it closes the httpx client it owns,
    never one you passed in. Entries are counted: a nested `async with` (an agent entering a
    client you opened) closes nothing; the outermost exit closes, and a later entry reopens.

    Args:
        base_url: The API root, for example "http://127.0.0.1:8000/v1" ("/v1" is added when the
            URL has no path).
        model: The served model name; None asks `/v1/models` and takes the first.
        dialect: "vllm", "mistral", a `Dialect`, or None to detect it from the URL.
        api_key: Sent as a Bearer token; for Mistral's API it defaults to $MISTRAL_API_KEY.
        http_client: An httpx client to use (its timeouts apply); None creates and owns one.
        timeout: A float is the whole-request deadline in seconds: from the first attempt to
            the last byte of the answer, retries, backoff and the whole stream included, so a
            server trickling keep-alives or one byte a second is cut off then (with
            `ModelTimeoutError`); it also caps each connect (at most 10 s), read and write. An
            `httpx.Timeout` sets the per-operation limits and leaves the whole request at
            300 s; None uses connect 10 s, read 120 s, whole request 300 s.
        retry: The retry policy (default: 3 attempts, 0.5 s base, 8 s cap).
        sleep: Awaitable sleep used between retries (inject a fake in tests).
        clock: Monotonic seconds used for deadlines.
        max_response_bytes: The largest non-streamed answer accepted, in bytes.
        max_answer_chars: The longest assistant text, and the longest arguments of each tool
            call, accepted in one answer, in characters (streamed or not); beyond it the
            request fails with `ProtocolError` at once (a stream is not read further).
        admission: A limit on requests in flight, shared with other clients (see
            `voxagent.client.Admission`); None sends every request at once.

    A base URL with credentials (`http://user:password@host/v1`) sends them as Basic
    authorization; `base_url`, messages and logs show the URL without them, and the key and
    password are redacted from any text the server echoes back.

    Raises:
        ConfigurationError: the dialect needs an API key and none was given or set (a URL with
            credentials needs none), or the URL has credentials and `api_key` is given too.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        dialect: Literal["vllm", "mistral"] | Dialect | None = None,
        api_key: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = anyio.sleep,
        clock: Clock = anyio.current_time,
        max_response_bytes: int = 16 * 1024 * 1024,
        max_answer_chars: int = MAX_ANSWER_CHARS,
        admission: Admission | None = None,
    ) -> None:
        self.admission = admission
        self._redact = Redactor.for_connection(base_url, api_key)
        full_url = checked_base_url(base_url, self._redact)
        # Requests go to the URL without its userinfo (sent as a header instead), so httpx's
        # own log lines and every message built from a request URL carry no password.
        self.base_url = public_url(full_url)
        self.max_answer_chars = max_answer_chars
        self.dialect = pick_dialect(dialect, self.base_url)
        self.model = model
        basic = url_credentials(full_url, self.base_url, api_key)
        if api_key is None and self.dialect.api_key_env and basic is None:
            api_key = os.environ.get(self.dialect.api_key_env) or None
        if api_key is None and self.dialect.api_key_env and basic is None:
            raise ConfigurationError(
                f"no API key for {self.base_url}",
                hint=f"set {self.dialect.api_key_env} or pass api_key=",
            )
        self._headers = self.dialect.headers(api_key)
        if basic is not None:
            # What httpx did with userinfo in the URL: Basic auth (the environment's key unused).
            self._headers = {**self._headers, "Authorization": basic}
        if max_answer_chars < 1:
            raise ConfigurationError(
                f"max_answer_chars must be at least 1, not {max_answer_chars!r}",
                hint=f"the default is {MAX_ANSWER_CHARS}",
            )
        http_timeout, self._total = http_timeouts(timeout)
        self._owns_http = http_client is None
        self._http_timeout = http_timeout
        self._entered = 0
        http = http_client or self._new_http()
        self._request_timeout = http_timeout if http_client is None or timeout is not None else None
        self._transport = Transport(
            http,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            clock=clock,
            max_response_bytes=max_response_bytes,
            redact=self._redact,
            base_url=self.base_url,
        )
        self._info: ModelInfo | None = None
        self._urls: dict[str, httpx.URL] = {}

    def __repr__(self) -> str:
        # Deliberately leaves out the headers: they hold the API key.
        return (
            f"ModelClient(base_url={self.base_url!r}, dialect={self.dialect.name!r}, "
            f"model={self.model!r})"
        )

    def _new_http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._http_timeout, verify=tls_context())

    async def __aenter__(self) -> Self:
        if self._entered == 0 and self._owns_http and self._transport.http.is_closed:
            # Closed by the last exit (an agent restarted with this transcriber): a new pool.
            self._transport.http = self._new_http()
        self._entered += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered = max(0, self._entered - 1)
        if self._entered == 0:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the httpx client if this object created it."""
        if self._owns_http:
            await self._transport.http.aclose()

    async def list_models(self) -> list[ModelInfo]:
        """Return the models the server serves (`GET /v1/models`)."""
        with self._redact.guarding():
            deadline = self._transport.deadline(self._total)
            response = await self._transport.send(
                lambda: self._build("GET", "/models"), deadline=deadline, model=None
            )
            url = str(response.url)
            data = decode_json(await self._transport.read_body(response, deadline), url)
            return parse_models(data, url)

    async def resolve_model(self) -> ModelInfo:
        """Return the model requests will use, with its context length; asks the server once.

        Raises:
            ModelNotFoundError: the server does not list the configured model.
        """
        if self._info is not None:
            return self._info
        models = await self.list_models()
        with self._redact.guarding():
            self._info = choose_model(models, self.model, self.base_url)
        self.model = self._info.id
        return self._info

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        settings: ModelSettings | None = None,
        session: str | None = None,
    ) -> ChatResponse:
        """Send one chat completion and return the whole assistant message.

        Args:
            messages: Rendered messages (audio parts come from `dialect.audio_part`).
            tools: Tool definitions in OpenAI form.
            settings: Sampling, tool choice, parallel calls, max tokens, seed, the request's
                deadline and extra body fields (`ModelSettings()` when None; `stream` is
                ignored: `stream_chat` streams). `tool_choice` is sent only with tools.
            session: The conversation's session key, sent as the `X-Session-ID` header (a
                router keeps the conversation on one replica with it); None sends none.

        Raises:
            ConfigurationError: `session` is not 1-128 characters of `[A-Za-z0-9_.:-]`.
        """
        headers = session_headers(session)
        settings = settings or _DEFAULT_SETTINGS
        body = await self._chat_body(messages, stream=False, tools=tools, settings=settings)
        async with admitted(self.admission) as waited, self._redact.guarding_async():
            with telemetry.model_request(self, body) as request:
                response, deadline = await self._post_chat(body, headers, settings.timeout)
                url = str(response.url)
                data = decode_json(await self._transport.read_body(response, deadline), url)
                answer = parse_chat(data, url, max_chars=self.max_answer_chars)
                request.done(answer)
        return answer if waited is None else dataclasses.replace(answer, admission_s=waited)

    async def stream_chat(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        settings: ModelSettings | None = None,
        session: str | None = None,
    ) -> AsyncGenerator[StreamItem, None]:
        """Stream one chat completion: `TextDelta`s, `ToolCallReady`s, then one `StreamDone`.

        An async generator; when you may stop early, wrap it in `contextlib.aclosing` so the
        connection is released at once. Takes the same options as `chat`. Nothing is retried once
        the stream has started.

        Raises:
            ProtocolError: malformed SSE, a non-JSON chunk, or a stream cut before it finished.
        """
        headers = session_headers(session)
        settings = settings or _DEFAULT_SETTINGS
        body = await self._chat_body(messages, stream=True, tools=tools, settings=settings)
        async with admitted(self.admission) as waited:
            with self._redact.guarding(), telemetry.model_request(self, body) as request:
                response, deadline = await self._post_chat(body, headers, settings.timeout)
                url = str(response.url)
                assembler = StreamAssembler(
                    max_text_chars=self.max_answer_chars,
                    max_argument_chars=self.max_answer_chars,
                    source=url,
                    tool_names=tool_names(tools),
                )
                try:
                    chunks = self._transport.iter_bytes(response, deadline)
                    async with aclosing(read_events(chunks, assembler, url)) as events:
                        async for item in events:
                            yield item
                finally:
                    await response.aclose()
                items, result = assembler.finish()
                request.done(result)
            for item in items:
                yield item
            yield StreamDone(
                result if waited is None else dataclasses.replace(result, admission_s=waited)
            )

    async def transcribe(
        self,
        clip: AudioClip,
        *,
        language: str | None = None,
        max_completion_tokens: int = 512,
        temperature: float = 0.0,
        model: str | None = None,
    ) -> str:
        """Transcribe `clip` with `/v1/audio/transcriptions`; return the text.

        Args:
            clip: Mono audio in a format the server decodes.
            language: ISO 639-1 code, or None to let the model detect it.
            max_completion_tokens: The cap on generated tokens (vLLM runs to max_model_len
                without one).
            temperature: Sampling temperature (0 is the recommended value for transcription).
            model: The transcription model; default: the dialect's (Mistral's API:
                voxtral-mini-latest), else the chat model.
        """
        async with admitted(self.admission), self._redact.guarding_async():
            return await self._transcribe(clip, language, max_completion_tokens, temperature, model)

    async def _transcribe(
        self,
        clip: AudioClip,
        language: str | None,
        max_completion_tokens: int,
        temperature: float,
        model: str | None,
    ) -> str:
        model = model or self.dialect.transcription_model or await self._model_name()
        fields, files = transcription_form(
            self.dialect, clip, model, language, max_completion_tokens, temperature
        )
        deadline = self._transport.deadline(self._total)
        response = await self._transport.send(
            lambda: self._build("POST", "/audio/transcriptions", data=fields, files=files),
            deadline=deadline,
            model=model,
            served=self._served_names,
        )
        raw = await self._transport.read_body(response, deadline)
        return transcription_text(raw, response.headers.get("content-type", "json"), response.url)

    async def _post_chat(
        self,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        deadline_s: float | None = None,
    ) -> tuple[httpx.Response, float]:
        """Send a chat body (retried as the policy allows); return the response and its deadline.

        `deadline_s` (a request's own deadline, from its settings) replaces the client's.
        """
        deadline = self._transport.deadline(self._total if deadline_s is None else deadline_s)
        content = encode_body(body)  # once, not once per retry
        per_request = None if deadline_s is None else deadline_timeout(deadline_s)
        response = await self._transport.send(
            lambda: self._build(
                "POST",
                "/chat/completions",
                content=content,
                json_body=True,
                extra=headers,
                timeout=per_request,
            ),
            deadline=deadline,
            model=body["model"],
            served=self._served_names,
        )
        return response, deadline

    async def _chat_body(
        self,
        messages: list[dict[str, Any]],
        *,
        stream: bool,
        tools: list[dict[str, Any]] | None,
        settings: ModelSettings,
    ) -> dict[str, Any]:
        model = await self._model_name()
        return chat_body(
            model, self.dialect, messages, tools=tools, settings=settings, stream=stream
        )

    async def _model_name(self) -> str:
        if self.model is None:
            await self.resolve_model()
        assert self.model is not None  # resolve_model sets it or raises
        return self.model

    async def _served_names(self) -> list[str] | None:
        try:
            with anyio.fail_after(5):
                return [info.id for info in await self.list_models()]
        except (ModelError, TimeoutError):
            return None

    def _build(
        self,
        method: str,
        path: str,
        *,
        json_body: bool = False,
        extra: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Request:
        if kwargs.get("timeout") is None:
            kwargs.pop("timeout", None)
            if self._request_timeout is not None:
                kwargs["timeout"] = self._request_timeout
        headers = self._headers
        if json_body:
            headers = {**headers, "Content-Type": "application/json"}
        if extra:
            headers = {**headers, **extra}
        url = self._urls.get(path)
        if url is None:  # parsed once per endpoint: httpx would re-parse the string every request
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return self._transport.http.build_request(method, url, headers=headers, **kwargs)
