"""The test kit's own faults: a responder function that raises, and what a `default=` receives.

A broken responder is a bug in the user's test, and the kit must say so loudly: HTTP 500 with a
body naming the exception, the exception and its traceback in `server.errors`, and the server
still serving the next request (not a dropped connection that surfaces as a bare cancellation).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from voxagent import Agent
from voxagent.errors import ServerError
from voxagent.testing import Reply, ScriptedRequest, ScriptedServer

pytestmark = pytest.mark.anyio

WAV_HEADER_ONLY = b"RIFF"


def chat_body(text: str = "hi") -> dict[str, Any]:
    return {"model": "voxtral-test", "messages": [{"role": "user", "content": text}]}


def explode(request: dict[str, Any]) -> Reply:
    raise ValueError("the responder's own bug")


async def explode_later(request: dict[str, Any]) -> Reply:
    raise KeyError("missing")


async def test_a_raising_responder_answers_500_naming_it_and_is_recorded() -> None:
    async with ScriptedServer([explode, Reply.text("still here")]) as server:
        async with httpx.AsyncClient() as http:
            failed = await http.post(f"{server.base_url}/chat/completions", json=chat_body())
            after = await http.post(f"{server.base_url}/chat/completions", json=chat_body())
    assert failed.status_code == 500
    message = failed.json()["error"]["message"]
    assert "explode" in message and "ValueError" in message and "own bug" in message
    assert after.status_code == 200  # the server survived its responder
    assert after.json()["choices"][0]["message"]["content"] == "still here"
    [error] = server.errors
    assert error.kind == "responder_error" and error.status == 500
    assert isinstance(error.exception, ValueError)
    assert error.traceback is not None
    assert "in explode" in error.traceback and "ValueError: the responder's own bug" in (
        error.traceback
    )
    assert error.body == chat_body()


async def test_an_agent_sees_a_server_error_naming_the_responder_not_a_cancellation() -> None:
    async with ScriptedServer([explode_later]) as server:
        async with Agent(base_url=server.base_url, model="voxtral-test") as agent:
            with pytest.raises(ServerError) as raised:
                await agent.ask(text="hi")
    assert "explode_later" in raised.value.message and "KeyError" in raised.value.message
    [error] = server.errors
    assert error.kind == "responder_error" and isinstance(error.exception, KeyError)


async def test_a_responder_returning_something_else_than_a_reply_is_a_responder_error() -> None:
    def forgot_the_reply(request: dict[str, Any]) -> Any:
        return "Done."  # the mistake under test: should be Reply.text("Done.")

    async with ScriptedServer([forgot_the_reply]) as server:
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{server.base_url}/chat/completions", json=chat_body())
    assert response.status_code == 500
    assert "must return a Reply, not str" in response.json()["error"]["message"]
    [error] = server.errors
    assert error.kind == "responder_error" and isinstance(error.exception, TypeError)


async def test_rejection_kinds_tell_validation_from_an_empty_script_from_a_crash() -> None:
    async with ScriptedServer([explode]) as server:
        async with httpx.AsyncClient() as http:
            url = f"{server.base_url}/chat/completions"
            await http.post(url, json={"model": "voxtral-test", "messages": []})  # invalid
            await http.post(url, json=chat_body())  # the responder raises
            await http.post(url, json=chat_body())  # nothing left
    assert [e.kind for e in server.errors] == ["invalid", "responder_error", "unscripted"]
    assert [e.exception is None for e in server.errors] == [True, False, True]


async def test_a_default_responder_is_told_chat_from_transcription_requests() -> None:
    seen: list[tuple[str, str, bool]] = []

    def default(request: dict[str, Any]) -> Reply:
        assert isinstance(request, ScriptedRequest)
        seen.append((request.kind, request.path, isinstance(request, dict)))
        if request.kind == "transcription":
            assert request["file"] == WAV_HEADER_ONLY and request["model"] == "voxtral-test"
            return Reply.text("a transcript")
        return Reply.text(f"you said {request['messages'][-1]['content']}")  # old-style access

    async with ScriptedServer(default=default) as server:
        async with httpx.AsyncClient() as http:
            chat = await http.post(f"{server.base_url}/chat/completions", json=chat_body("yo"))
            transcript = await http.post(
                f"{server.base_url}/audio/transcriptions",
                data={"model": "voxtral-test"},
                files={"file": ("a.wav", WAV_HEADER_ONLY, "audio/wav")},
            )
    assert chat.json()["choices"][0]["message"]["content"] == "you said yo"
    assert transcript.json()["text"] == "a transcript"
    assert seen == [
        ("chat", "/v1/chat/completions", True),
        ("transcription", "/v1/audio/transcriptions", True),
    ]
    assert server.errors == []
    assert server.requests == [chat_body("yo")]  # recorded as the plain body
