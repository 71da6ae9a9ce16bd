"""What `ScriptedServer` records: the requests it received and the ones it refused.

`ScriptedRequest` is what a responder function is given; `Rejection` what lands in
`server.errors`; `TranscriptionRequest` a parsed `/v1/audio/transcriptions` upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Literal

from voxagent.testing.http11 import IncomingRequest

__all__ = [
    "Rejection",
    "RejectionKind",
    "ScriptedRequest",
    "TranscriptionRequest",
    "parse_form",
]


RejectionKind = Literal["invalid", "unscripted", "responder_error"]
"""Why a request was refused: invalid as vLLM judges it, no scripted reply left, or the
script's own responder function raised."""


@dataclass(frozen=True)
class Rejection:
    """A request the server refused with an error the script did not ask for.

    Attributes:
        path: The request path.
        status: The HTTP status answered.
        message: The error message answered.
        body: The parsed request body, when it was JSON.
        kind: "invalid" (vLLM would refuse it), "unscripted" (no scripted reply left) or
            "responder_error" (a responder function raised: a bug in the test, not the agent).
        exception: The exception a responder raised (kind "responder_error"), else None.
        traceback: That exception's formatted traceback, else None.
    """

    path: str
    status: int
    message: str
    body: Any = None
    kind: RejectionKind = "invalid"
    exception: BaseException | None = None
    traceback: str | None = None


class ScriptedRequest(dict[str, Any]):
    """What a responder function receives: the request body as a dict, plus what it was.

    A plain `dict` subclass, so responders written as `lambda body: ...body["messages"]...`
    keep working. A `default=` responder answers both chat and transcription requests (an
    agent's background transcript prefetch sends the latter): check `request.kind`.

    Attributes:
        kind: "chat" (`/v1/chat/completions`; the parsed JSON body) or "transcription"
            (`/v1/audio/transcriptions`; the form fields plus "file" as bytes).
        path: The request path.
    """

    kind: Literal["chat", "transcription"]
    path: str

    def __init__(
        self, body: dict[str, Any], kind: Literal["chat", "transcription"], path: str
    ) -> None:
        super().__init__(body)
        self.kind = kind
        self.path = path


@dataclass(frozen=True)
class TranscriptionRequest:
    """A received `/v1/audio/transcriptions` request: form fields and the uploaded file."""

    fields: dict[str, str]
    file: bytes
    filename: str | None


def parse_form(request: IncomingRequest) -> TranscriptionRequest:
    """Parse a multipart/form-data upload (raises ValueError for any other body)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ValueError("transcription requests must be multipart/form-data")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + request.body
    )
    fields: dict[str, str] = {}
    file = b""
    filename = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name == "file":
            file, filename = data, part.get_filename()
        elif isinstance(name, str):
            fields[name] = data.decode("utf-8", errors="replace")
    return TranscriptionRequest(fields, file, filename)
