"""One `Agent` per visitor, made from the app's `Agent` (or the app's factory of agents).

`voxagent web APP.py[:NAME]` loads NAME like `voxagent run` does: an `Agent` object (default:
`agent`, or the module's only Agent), or, for per-visitor state, a zero-argument function that
returns a new Agent (name it: `APP.py:make_agent`). Each visitor gets an agent of their own with
the app's tools, instructions and settings and a new conversation, so no visitor can reach
another's. From an Agent object, each visitor gets a deep copy of its `deps` (one visitor's
lights are not another's); deps that cannot be copied (an open client, a lock) need a factory.

Two things do not carry over, because a browser is on the other end: a server-side `speaker`
(the page speaks with the browser's speech synthesis) and an Agent's own `live_transcriber`
(one realtime websocket cannot serve two visitors: give the captions server on the command
line, and each visitor gets a transcriber of their own).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from voxagent.agent import Agent
from voxagent.approval import Approval
from voxagent.errors import ConfigurationError
from voxagent.events import Event
from voxagent.loop.state import TurnInput
from voxagent.results import TurnResult
from voxagent.web.approvals import ButtonAnswers

__all__ = ["AgentOverrides", "VisitorAgent", "VisitorAgents", "load_app"]

# Every parameter of Agent.__init__ that `_clone` passes on or replaces on purpose. A test checks
# the signature has no other, so a new Agent option cannot be silently dropped for visitors.
CLONED_PARAMETERS = frozenset(
    {
        "model",
        "base_url",
        "api_key",
        "dialect",
        "http_client",
        "admission",
        "tools",
        "instructions",
        "deps",
        "settings",
        "voice",
        "approval",
        "max_tool_rounds",
        "max_audio_items",
        "conversation",
        "clock",
        "deprecated",  # folded into settings and voice by Agent itself
    }
)


class VisitorAgent(Agent[Any]):
    """An agent for one visitor: its confirmations can also be answered with the page's buttons.

    Args:
        buttons: Where the visitor's clicks arrive.
        **options: `Agent`'s options.
    """

    def __init__(self, buttons: ButtonAnswers, **options: Any) -> None:
        super().__init__(**options)
        self.buttons = buttons

    async def _run_turn(
        self,
        user: TurnInput,
        emit: Callable[[Event], Awaitable[None]],
        *,
        turn_id: int,
        voice: Approval | None,
    ) -> TurnResult:
        # While listening, `voice` is the spoken yes/no the "ask" policy uses; a click on the
        # page may answer first. Other policies ("always", a callback) stay as the app set them.
        if voice is not None:
            voice = self.buttons.either(voice)
        return await super()._run_turn(user, emit, turn_id=turn_id, voice=voice)


@dataclass(frozen=True, slots=True)
class AgentOverrides:
    """What the command line sets for every visitor's agent (None: as the app has it).

    Attributes:
        base_url: The model server's /v1 URL.
        model: The served model's name.
        tool_choice: "auto", "none", "required" or a tool name.
        max_tokens: Cap on each answer's tokens.
        request_timeout: Seconds one model request may take in all.
        captions_url: A Voxtral Realtime server's /v1 URL for live captions.
        captions_model: The realtime model's served name.
    """

    base_url: str | None = None
    model: str | None = None
    tool_choice: str | None = None
    max_tokens: int | None = None
    request_timeout: float | None = None
    captions_url: str | None = None
    captions_model: str | None = None


class VisitorAgents:
    """Makes a fresh `VisitorAgent` for each visitor from the app's agent or factory.

    Args:
        source: The app's Agent (a template: it is never started) or a function returning a new
            Agent.
        overrides: The command line's settings.

    Raises:
        ConfigurationError: The factory does not return an Agent, the deps cannot be copied for
            each visitor, or the Agent has a live transcriber of its own (see the module doc).
    """

    def __init__(
        self, source: Agent[Any] | Callable[[], Any], overrides: AgentOverrides | None = None
    ) -> None:
        self._source = source
        self.overrides = overrides or AgentOverrides()
        # Made once now, so a broken app fails before the first visitor comes.
        self.example = self._template()
        self._check(self.example)

    @property
    def tool_names(self) -> list[str]:
        """The tools every visitor's agent offers."""
        return self.example.registry.names

    @property
    def captions(self) -> bool:
        """Whether visitors get live captions."""
        return self.overrides.captions_url is not None

    def _template(self) -> Agent[Any]:
        if isinstance(self._source, Agent):
            return self._source
        try:
            made = self._source()
        except Exception as exc:
            raise ConfigurationError(
                f"the app's agent factory failed: {type(exc).__name__}: {exc}",
                hint="it is called once per visitor, with no arguments, and must return an Agent",
            ) from exc
        if not isinstance(made, Agent):
            raise ConfigurationError(
                f"the app's agent factory returned {type(made).__name__}, not an Agent",
                hint="return a new voxagent.Agent(...) from it",
            )
        return made

    def _check(self, template: Agent[Any]) -> None:
        if template.voice.live_transcriber is not None and not self.captions:
            raise ConfigurationError(
                "the app's Agent has a live_transcriber, which can serve one visitor only",
                hint="give the captions server with --captions-url URL --captions-model MODEL "
                "instead (each visitor gets a transcriber of their own)",
            )
        if isinstance(self._source, Agent):
            try:
                copy.deepcopy(template.deps)
            except Exception as exc:
                raise ConfigurationError(
                    f"the app's deps ({type(template.deps).__name__}) cannot be copied for each "
                    f"visitor: {type(exc).__name__}: {exc}",
                    hint="define a function that returns a new Agent with its own deps and run "
                    "APP.py:FUNCTION",
                ) from exc

    def new(self) -> VisitorAgent:
        """A new agent for a new visitor (not started: enter it with `async with`)."""
        template = self._template()
        deps = template.deps
        if template is self._source:
            deps = copy.deepcopy(deps)
        return self._clone(template, deps)

    def _clone(self, template: Agent[Any], deps: Any) -> VisitorAgent:
        o = self.overrides
        transcriber = None
        if o.captions_url is not None and o.captions_model is not None:
            from voxagent.realtime.transcriber import RealtimeTranscriber

            transcriber = RealtimeTranscriber(o.captions_url, o.captions_model)
        settings = template.settings
        if o.tool_choice is not None:
            settings = settings.replace(tool_choice=o.tool_choice)
        if o.max_tokens is not None:
            settings = settings.replace(max_tokens=o.max_tokens)
        if o.request_timeout is not None:
            settings = settings.replace(timeout=o.request_timeout)
        agent = VisitorAgent(
            ButtonAnswers(),
            model=o.model or template.model,
            base_url=o.base_url or template.base_url,
            instructions=template.instructions,
            deps=deps,
            http_client=template._http_client,
            api_key=template._api_key,
            dialect=template._dialect,
            approval=template.approval,
            # The app's sampling options as it set them, with the command line's overrides.
            settings=settings,
            # The browser speaks; each visitor gets a transcriber of their own.
            voice=template.voice.replace(speaker=None, live_transcriber=transcriber),
            max_tool_rounds=template.max_tool_rounds,
            max_audio_items=template.max_audio_items,
            conversation=None,  # a conversation of the visitor's own
            # One limit for the whole process: every visitor's requests share the app's.
            admission=template._admission,
            clock=template._clock,
        )
        # The registry is only read while turns run, so visitors can share the app's tools.
        agent.registry = template.registry
        return agent


def load_app(spec: str) -> Agent[Any] | Callable[[], Any]:
    """Load `FILE.py[:NAME]`: the Agent object or the factory function NAME names.

    Without NAME: the module's `agent`, else its only Agent.

    Raises:
        ConfigurationError: No such file, not importable, or nothing usable by that name.
    """
    from voxagent.app_file import import_app

    def refused(message: str) -> ConfigurationError:
        return ConfigurationError(message, hint="give the app's .py file")

    module, path_text, name = import_app(spec, refused, prefix="voxagent_web_app")
    if name:
        found = getattr(module, name, None)
        if isinstance(found, Agent) or (callable(found) and not isinstance(found, type)):
            return found
        raise ConfigurationError(
            f"{path_text} has no Agent or agent factory named {name!r}",
            hint="NAME must be an Agent, or a function that returns a new Agent",
        )
    found = getattr(module, "agent", None)
    if not isinstance(found, Agent):
        agents = [v for v in vars(module).values() if isinstance(v, Agent)]
        found = agents[0] if len(agents) == 1 else None
    if found is None:
        raise ConfigurationError(
            f"{path_text} has no Agent named 'agent'",
            hint="use FILE.py:NAME for another Agent, or for a function that returns one",
        )
    return found
