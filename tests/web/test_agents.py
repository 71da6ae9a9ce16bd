"""One agent per visitor: loading the app, copying its agent, what carries over and what not."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path
from typing import Any

import pytest

from voxagent import Agent, ModelSettings, VoiceSettings
from voxagent.errors import ConfigurationError
from voxagent.realtime.transcriber import RealtimeTranscriber
from voxagent.web.agents import CLONED_PARAMETERS, AgentOverrides, VisitorAgents, load_app


def test_every_agent_option_is_handled_when_an_agent_is_made_for_a_visitor() -> None:
    # A new Agent option must be passed on to visitors' agents (or left out on purpose) in
    # VisitorAgents._clone, and listed in CLONED_PARAMETERS; this fails until it is.
    options = set(inspect.signature(Agent.__init__).parameters) - {"self"}
    assert options - CLONED_PARAMETERS == set()


def test_each_visitor_gets_a_new_conversation_and_a_copy_of_the_deps(example_app: Path) -> None:
    template = load_app(str(example_app))
    assert isinstance(template, Agent)
    template.conversation.add_user(text="something the app's own agent heard")
    agents = VisitorAgents(template)
    first, second = agents.new(), agents.new()
    assert first is not template and second is not first
    assert first.conversation is not second.conversation
    assert len(first.conversation.turns) == len(second.conversation.turns) == 0
    assert first.deps is not template.deps and first.deps is not second.deps
    assert first.deps == template.deps  # a copy: the same starting state
    first.deps.lights["kitchen"] = 100
    assert second.deps.lights == {} and template.deps.lights == {}
    assert first.registry.names == template.registry.names
    assert first.instructions == template.instructions
    assert first.settings == template.settings


def test_options_carry_over_and_the_command_line_overrides_them() -> None:
    def approve(request: Any) -> Any:
        raise AssertionError("not called here")

    template = Agent(
        model="m",
        base_url="http://127.0.0.1:1/v1",
        instructions="Be brief.",
        settings=ModelSettings(
            tool_choice="none",
            temperature=0.7,
            max_tokens=100,
            timeout=9.0,
        ),
        voice=VoiceSettings(
            barge_in="queue",
            confirm_timeout=5.0,
            slow_tool_after=None,
            speaker=lambda text: None,  # type: ignore[arg-type,return-value]
        ),
        approval=approve,
    )
    plain = VisitorAgents(template).new()
    assert (plain.model, plain.base_url, plain.instructions) == (
        "m",
        template.base_url,
        "Be brief.",
    )
    assert plain.settings == template.settings
    assert plain.approval is approve and plain.voice.barge_in == "queue"
    assert (plain.voice.confirm_timeout, plain.voice.slow_tool_after) == (5.0, None)
    assert plain.settings.timeout == 9.0
    assert plain.voice.speaker is None  # the browser speaks, not the server
    overridden = VisitorAgents(
        template,
        AgentOverrides(
            base_url="http://127.0.0.1:2/v1",
            model="n",
            tool_choice="auto",
            max_tokens=7,
            request_timeout=3.0,
            captions_url="http://127.0.0.1:3/v1",
            captions_model="rt",
        ),
    ).new()
    assert (overridden.base_url, overridden.model) == ("http://127.0.0.1:2/v1", "n")
    assert (overridden.settings.tool_choice, overridden.settings.max_tokens) == ("auto", 7)
    assert overridden.settings.temperature == 0.7
    assert overridden.settings.timeout == 3.0
    assert isinstance(overridden.voice.live_transcriber, RealtimeTranscriber)
    assert overridden.voice.live_transcriber.model == "rt"


def test_each_visitor_gets_a_transcriber_of_their_own() -> None:
    agents = VisitorAgents(
        Agent(base_url="http://127.0.0.1:1/v1"),
        AgentOverrides(captions_url="http://127.0.0.1:3/v1", captions_model="rt"),
    )
    assert agents.captions
    assert agents.new().voice.live_transcriber is not agents.new().voice.live_transcriber


def test_an_agent_with_its_own_transcriber_needs_the_captions_server_given() -> None:
    template = Agent(
        base_url="http://127.0.0.1:1/v1",
        voice=VoiceSettings(
            live_transcriber=RealtimeTranscriber("http://127.0.0.1:3/v1", "rt"),
        ),
    )
    with pytest.raises(ConfigurationError, match="can serve one visitor only") as raised:
        VisitorAgents(template)
    assert "--captions-url" in (raised.value.hint or "")


def test_deps_that_cannot_be_copied_need_a_factory() -> None:
    template = Agent(base_url="http://127.0.0.1:1/v1", deps={"lock": threading.Lock()})
    with pytest.raises(ConfigurationError, match="cannot be copied for each visitor") as raised:
        VisitorAgents(template)
    assert "APP.py:FUNCTION" in (raised.value.hint or "")


def test_a_factory_is_called_for_each_visitor_and_its_deps_are_used_as_they_are() -> None:
    made: list[Agent[Any]] = []

    def factory() -> Agent[Any]:
        made.append(Agent(base_url="http://127.0.0.1:1/v1", deps={"lock": threading.Lock()}))
        return made[-1]

    agents = VisitorAgents(factory)
    visitor = agents.new()
    assert len(made) == 2  # checked once at start-up, then the visitor's
    assert visitor.deps is made[-1].deps


@pytest.mark.parametrize(
    ("factory", "words"),
    [
        (lambda: "not an agent", "returned str, not an Agent"),
        (lambda: 1 / 0, "the app's agent factory failed: ZeroDivisionError"),
    ],
)
def test_a_broken_factory_fails_at_start_up(factory: Any, words: str) -> None:
    with pytest.raises(ConfigurationError, match=words):
        VisitorAgents(factory)


def test_load_app_finds_an_agent_or_a_named_factory(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "from voxagent import Agent\n"
        "helper = Agent(base_url='http://127.0.0.1:1/v1')\n"
        "def make_agent():\n"
        "    return Agent(base_url='http://127.0.0.1:1/v1')\n"
        "NOT_AN_AGENT = 3\n"
    )
    assert isinstance(load_app(str(app)), Agent)  # the only Agent
    factory = load_app(f"{app}:make_agent")
    assert callable(factory) and not isinstance(factory, Agent)
    with pytest.raises(ConfigurationError, match="no Agent or agent factory named 'NOT_AN_AGENT'"):
        load_app(f"{app}:NOT_AN_AGENT")
    with pytest.raises(ConfigurationError, match="no such file"):
        load_app(str(tmp_path / "missing.py"))
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ConfigurationError, match="has no Agent named 'agent'"):
        load_app(str(empty))
