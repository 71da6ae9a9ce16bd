"""The two realtime transcription wire protocols: vLLM's `/v1/realtime` and Mistral's hosted one.

A protocol only builds client messages and classifies server messages; the connection, the
reconnects and the back-pressure live in `voxagent.realtime.transcriber` (and its connector,
handshake and connection modules), shared by both.

vLLM (Voxtral Mini 4B Realtime): `session.update {model}` once per connection, then per utterance
`input_audio_buffer.commit` (starts generation), `input_audio_buffer.append {audio}` repeated and
`input_audio_buffer.commit {final: true}`; the server answers `transcription.delta {delta}` and
`transcription.done {text, usage}`, or `error {error, code}`.

Mistral's hosted API (Voxtral 3, `voxtral-mini-transcribe-realtime-3`, since 2026-10-20): the
model travels in the URL; `session.update {session: {audio_format, language?, turn_detection?,
target_streaming_delay_ms?, context_bias?}}` is answered with `session.updated {session}`, and
the settings lock at the first audio chunk (a later `session.update` is an error), so voxagent
waits for `session.updated` before it sends audio. Then `input_audio.append {audio}`,
`input_audio.flush` and `input_audio.end`; the server answers `transcription.text.delta {text}`,
`transcription.done {text, ...}`, with server-side turn detection `turn.start`,
`turn.eager_end`, `turn.resume` and `turn.end {time_s, end_reason}`, or `error {error: {message,
code}}`. One utterance per connection.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from voxagent.errors import ModelNotFoundError, ProtocolError, RealtimeError

__all__ = [
    "MISTRAL_REALTIME",
    "VLLM_REALTIME",
    "MistralRealtimeProtocol",
    "RealtimeModelNotFoundError",
    "RealtimeProtocol",
    "ServerDelta",
    "ServerDone",
    "ServerErrorEvent",
    "ServerMessage",
    "ServerOther",
    "ServerSessionUpdated",
    "ServerTurn",
    "VLLMRealtimeProtocol",
    "realtime_error",
]


class RealtimeModelNotFoundError(RealtimeError, ModelNotFoundError):
    """The realtime server does not serve the requested model (code `model_not_found`)."""


@dataclass(frozen=True, slots=True)
class ServerDelta:
    """A piece of transcript (may be empty: a real model sends pad tokens as empty deltas)."""

    text: str


@dataclass(frozen=True, slots=True)
class ServerDone:
    """The utterance's complete transcript."""

    text: str
    usage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServerErrorEvent:
    """An `error` message; the server keeps the socket open after it.

    A message, not an exception: the transcriber turns it into a `RealtimeError` (not to be
    confused with `voxagent.errors.ServerError`, the HTTP client's exception).
    """

    code: str | None
    message: str


@dataclass(frozen=True, slots=True)
class ServerSessionUpdated:
    """The server applied a `session.update` (Mistral's API); `session` is its settings now."""

    session: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServerTurn:
    """A server-side turn detection event (Mistral's API with `turn_detection`).

    Attributes:
        kind: "start", "eager_end", "resume" or "end".
        time_s: Where in the utterance's audio it was detected, in seconds.
        end_reason: For "end": "threshold" or "timeout".
    """

    kind: str
    time_s: float
    end_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ServerOther:
    """Anything else (session.created, session.updated, language, turn events, unknown types)."""

    type: str


ServerMessage = (
    ServerDelta | ServerDone | ServerErrorEvent | ServerSessionUpdated | ServerTurn | ServerOther
)
_TURN_EVENTS = {"turn.start", "turn.eager_end", "turn.resume", "turn.end"}

_HINTS: dict[str, str] = {
    "invalid_json": "voxagent sent a message the server could not parse: please report this bug.",
    "invalid_event": "A session or commit message was malformed; check the model name given to "
    "the transcriber.",
    "model_not_found": "Pass the model name the server was started with (GET /v1/models lists it).",
    "invalid_audio": "The audio chunk was empty or not PCM16; check the audio source "
    "(mono float32 or int16 at 16 kHz).",
    "model_not_validated": "Audio was committed before session.update: please report this bug.",
    "unknown_event": "The server does not know this event; check that it is a vLLM version with "
    "/v1/realtime and a Voxtral Realtime model.",
    "processing_error": "The server failed while transcribing; its log says why. Retry, or restart "
    "the server.",
    "timeout": "The server accepted the audio but never finished; check its log and load, or raise "
    "done_timeout.",
    "settings_locked": "Mistral's realtime API locks a session's settings at its first audio "
    "chunk: set language and turn_detection on the protocol, before audio (please report this "
    "bug if voxagent sent them late).",
}


def realtime_error(code: str | None, message: str) -> RealtimeError:
    """Return the typed error for a server error `code` (a `RealtimeError`, with a hint).

    Args:
        code: The server's code (vLLM's strings, Mistral's numbers as text), or voxagent's own
            `timeout`.
        message: The server's own words.
    """
    if "after audio has started" in message:
        code = code or "settings_locked"
        hint = _HINTS["settings_locked"]
    else:
        hint = _HINTS.get(code or "", "See the server's log for details.")
    cls = RealtimeModelNotFoundError if code == "model_not_found" else RealtimeError
    return cls(
        f"realtime transcription failed: {message} (code {code})",
        code=code,
        hint=hint,
        server_message=message,
    )


def _b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")


def _ws_scheme(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"base_url must be http(s):// or ws(s)://, got {url!r}")
    return scheme, parts.netloc, parts.path


class RealtimeProtocol:
    """How one server family spells realtime transcription on the wire.

    Attributes:
        name: "vllm" or "mistral".
        reuses_connection: Whether several utterances may share one websocket.
        max_append_bytes: The most PCM bytes sent in one append message.
    """

    name: ClassVar[str]
    reuses_connection: ClassVar[bool]
    max_append_bytes: ClassVar[int] = 32_000  # 1 s of PCM16 at 16 kHz: few messages, low latency
    # Whether the server answers the session messages with `session.updated`, to be awaited
    # before any audio is sent.
    confirms_session: ClassVar[bool] = False

    def url(self, base_url: str, model: str) -> str:
        """Return the websocket URL for `base_url` ("http://host:port/v1")."""
        raise NotImplementedError

    def session_messages(self, model: str) -> list[dict[str, Any]]:
        """Messages sent once, right after the server's `session.created`."""
        raise NotImplementedError

    def start_messages(self) -> list[dict[str, Any]]:
        """Messages that open an utterance."""
        raise NotImplementedError

    def append_message(self, pcm: bytes) -> dict[str, Any]:
        """The message carrying `pcm` (PCM16LE mono 16 kHz, never empty)."""
        raise NotImplementedError

    def end_messages(self) -> list[dict[str, Any]]:
        """Messages that close an utterance and ask for the final transcript."""
        raise NotImplementedError

    def parse(self, data: Any) -> ServerMessage:
        """Classify one decoded server message; raise `ProtocolError` if it is malformed."""
        raise NotImplementedError


def _field(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise ProtocolError(
            f"realtime server sent a malformed {data.get('type')!r} message: {key!r} missing",
            hint="Check that the server speaks the expected realtime protocol.",
        )
    return value


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError(
            f"realtime server sent a message without a type: {str(data)[:200]}",
            hint="Check that base_url points at the expected server.",
        )
    return data


class VLLMRealtimeProtocol(RealtimeProtocol):
    """vLLM's `/v1/realtime` protocol (Voxtral Mini 4B Realtime)."""

    name = "vllm"
    reuses_connection = True

    def url(self, base_url: str, model: str) -> str:
        scheme, netloc, path = _ws_scheme(base_url)
        return urlunsplit((scheme, netloc, f"{path}/realtime", "", ""))

    def session_messages(self, model: str) -> list[dict[str, Any]]:
        return [{"type": "session.update", "model": model}]

    def start_messages(self) -> list[dict[str, Any]]:
        return [{"type": "input_audio_buffer.commit"}]

    def append_message(self, pcm: bytes) -> dict[str, Any]:
        return {"type": "input_audio_buffer.append", "audio": _b64(pcm)}

    def end_messages(self) -> list[dict[str, Any]]:
        return [{"type": "input_audio_buffer.commit", "final": True}]

    def parse(self, data: Any) -> ServerMessage:
        data = _object(data)
        kind = data["type"]
        if kind == "transcription.delta":
            return ServerDelta(_field(data, "delta", str))
        if kind == "transcription.done":
            return ServerDone(_field(data, "text", str), data.get("usage") or {})
        if kind == "error":
            code = data.get("code")
            return ServerErrorEvent(code if isinstance(code, str) else None, str(data.get("error")))
        return ServerOther(kind)


@dataclass(frozen=True)
class MistralRealtimeProtocol(RealtimeProtocol):
    """Mistral's hosted realtime transcription protocol (`/v1/audio/transcriptions/realtime`).

    The settings go out in the one `session.update` of each connection, before any audio (the
    API locks them at the first audio chunk).

    Args:
        language: ISO 639-1 code of the speech (None: detected).
        turn_detection: Server-side turn detection settings (`{}` for the API's defaults:
            start_threshold, eager_end_threshold, end_threshold, min_silence_ms,
            end_timeout_ms); None: off. Not compatible with diarization.
        target_streaming_delay_ms: The latency/accuracy trade-off (None: the API's default).
        context_bias: Words and phrases to favour (names, jargon).
    """

    language: str | None = None
    turn_detection: dict[str, Any] | None = None
    target_streaming_delay_ms: int | None = None
    context_bias: tuple[str, ...] | None = None

    name = "mistral"
    reuses_connection = False
    max_append_bytes = 32_000  # well under the API's 262144-byte limit per append
    confirms_session = True

    def url(self, base_url: str, model: str) -> str:
        scheme, netloc, path = _ws_scheme(base_url)
        query = urlencode({"model": model})
        return urlunsplit((scheme, netloc, f"{path}/audio/transcriptions/realtime", query, ""))

    def session_messages(self, model: str) -> list[dict[str, Any]]:
        session: dict[str, Any] = {"audio_format": {"encoding": "pcm_s16le", "sample_rate": 16_000}}
        if self.language is not None:
            session["language"] = self.language
        if self.turn_detection is not None:
            session["turn_detection"] = dict(self.turn_detection)
        if self.target_streaming_delay_ms is not None:
            session["target_streaming_delay_ms"] = self.target_streaming_delay_ms
        if self.context_bias is not None:
            session["context_bias"] = list(self.context_bias)
        return [{"type": "session.update", "session": session}]

    def start_messages(self) -> list[dict[str, Any]]:
        return []

    def append_message(self, pcm: bytes) -> dict[str, Any]:
        return {"type": "input_audio.append", "audio": _b64(pcm)}

    def end_messages(self) -> list[dict[str, Any]]:
        return [{"type": "input_audio.flush"}, {"type": "input_audio.end"}]

    def parse(self, data: Any) -> ServerMessage:
        data = _object(data)
        kind = data["type"]
        if kind == "transcription.text.delta":
            return ServerDelta(_field(data, "text", str))
        if kind == "transcription.done":
            return ServerDone(_field(data, "text", str), data.get("usage") or {})
        if kind == "session.updated":
            session = data.get("session")
            return ServerSessionUpdated(session if isinstance(session, dict) else {})
        if kind in _TURN_EVENTS:
            at = data.get("time_s")
            if isinstance(at, bool) or not isinstance(at, int | float):
                _field(data, "time_s", float)  # raises the malformed-message error
            reason = data.get("end_reason")
            return ServerTurn(
                kind.removeprefix("turn."), float(at), reason if isinstance(reason, str) else None
            )
        if kind == "error":
            detail = data.get("error")
            if isinstance(detail, dict):
                code = detail.get("code")
                message = detail.get("message")
                text = message if isinstance(message, str) else str(message)
                return ServerErrorEvent(None if code is None else str(code), text)
            return ServerErrorEvent(None, str(detail))
        return ServerOther(kind)


VLLM_REALTIME = VLLMRealtimeProtocol()
MISTRAL_REALTIME = MistralRealtimeProtocol()
