"""The two settings groups, the 0.1 keywords they replace, and the seams an Agent takes."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest

from voxagent import Agent, ChatModel, LiveTranscriber, ModelSettings, Transcriber, VoiceSettings
from voxagent.client import ModelClient
from voxagent.errors import ConfigurationError
from voxagent.realtime import MLXTranscriber, RealtimeTranscriber
from voxagent.testing import Reply, ScriptedModel

pytestmark = pytest.mark.anyio


def test_settings_are_frozen_and_replace_gives_a_checked_copy() -> None:
    settings = ModelSettings(temperature=0.0, seed=1)
    changed = settings.replace(seed=2, max_tokens=64)
    assert (settings.seed, changed.seed, changed.max_tokens, changed.temperature) == (1, 2, 64, 0.0)
    with pytest.raises(AttributeError):
        settings.seed = 3  # type: ignore[misc]
    with pytest.raises(ConfigurationError, match="max_tokens"):
        settings.replace(max_tokens=0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", -0.1),
        ("temperature", math.nan),
        ("temperature", "hot"),
        ("top_p", 0.0),
        ("top_p", 1.5),
        ("max_tokens", 0),
        ("max_tokens", True),
        ("max_tokens", 2.5),
        ("seed", "7"),
        ("timeout", 0),
        ("timeout", math.inf),
        ("tool_choice", ""),
    ],
)
def test_a_wrong_model_setting_is_refused_when_made(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=field) as caught:
        ModelSettings(**{field: value})
    assert caught.value.hint


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("barge_in", "shout"),
        ("confirm_timeout", 0),
        ("confirm_timeout", math.nan),
        ("slow_tool_after", -1),
    ],
)
def test_a_wrong_voice_setting_is_refused_when_made(field: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=field):
        VoiceSettings(**{field: value})


def test_the_01_keywords_still_work_with_a_warning_naming_their_new_place() -> None:
    async def speaker(text: str) -> None:
        return None

    with pytest.warns(DeprecationWarning) as caught:
        agent = Agent(
            base_url="http://127.0.0.1:1/v1",
            temperature=0.5,
            request_timeout=9.0,
            speaker=speaker,
            speculate=False,
        )
    messages = sorted(str(w.message) for w in caught)
    assert any("ModelSettings(temperature=...)" in m for m in messages)
    assert any("ModelSettings(timeout=...)" in m for m in messages)
    assert any("VoiceSettings(speaker=...)" in m for m in messages)
    assert (agent.settings.temperature, agent.settings.timeout) == (0.5, 9.0)
    assert agent.voice.speaker is speaker and agent.voice.speculate is False
    # Given with the group they belong to, the old keyword wins over the group's field.
    with pytest.warns(DeprecationWarning):
        agent = Agent(settings=ModelSettings(seed=1, top_p=0.5), seed=2)
    assert (agent.settings.seed, agent.settings.top_p) == (2, 0.5)


def test_the_new_form_warns_about_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agent = Agent(settings=ModelSettings(seed=3), voice=VoiceSettings(barge_in="queue"))
    assert agent.settings.seed == 3 and agent.voice.barge_in == "queue"


def test_a_keyword_that_never_existed_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="temprature"):
        Agent(temprature=0.1)


def test_a_model_object_takes_no_connection_settings() -> None:
    with pytest.raises(ConfigurationError, match="base_url, api_key"):
        Agent(ScriptedModel(), base_url="http://127.0.0.1:1/v1", api_key="k")
    with pytest.raises(ConfigurationError, match="ChatModel"):
        Agent(42)  # type: ignore[arg-type]


def test_the_clients_implement_the_seams() -> None:
    client = ModelClient("http://127.0.0.1:1/v1")
    assert isinstance(client, ChatModel) and isinstance(client, Transcriber)
    assert isinstance(RealtimeTranscriber("http://127.0.0.1:1/v1", "m"), LiveTranscriber)
    assert isinstance(MLXTranscriber(), LiveTranscriber)  # nothing loads until `async with`
    assert not isinstance(object(), ChatModel)


async def test_a_model_given_as_an_object_is_used_as_it_is() -> None:
    model = ScriptedModel([Reply.text("Hello.")])
    settings = ModelSettings(temperature=0.0, seed=5, max_tokens=32)
    async with Agent(model, settings=settings) as agent:
        assert agent.client is model
        turn = await agent.ask(text="hi")
    assert turn.text == "Hello." and model.errors == []
    sent = model.requests[0]
    assert (sent["temperature"], sent["seed"], sent["max_tokens"]) == (0.0, 5, 32)
    assert "tool_choice" not in sent  # no tools: no tool choice either


def test_the_01_attributes_read_and_write_their_group_with_a_warning() -> None:
    async def speaker(text: str) -> None:
        return None

    agent = Agent(base_url="http://127.0.0.1:1/v1")
    with pytest.warns(DeprecationWarning, match=r"agent\.voice\.speaker"):
        agent.speaker = speaker  # type: ignore[attr-defined]
    assert agent.voice.speaker is speaker  # not a stray attribute nothing reads
    with pytest.warns(DeprecationWarning, match=r"agent\.settings\.timeout"):
        agent.request_timeout = 5.0  # type: ignore[attr-defined]
    assert agent.settings.timeout == 5.0
    with pytest.warns(DeprecationWarning):
        assert agent.barge_in == "cancel"  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="nope"):
        agent.nope  # type: ignore[attr-defined]  # noqa: B018
    agent.custom = 1  # type: ignore[attr-defined]  # other attributes behave as always
    assert agent.custom == 1  # type: ignore[attr-defined]
