"""What each turn costs in tokens and sends as text, computed once per turn.

Turns are frozen and have uids, so everything a request derives from one turn (its token cost,
its tool calls made safe, its result's text) is computed the first time the turn is rendered and
looked up afterwards: rendering costs work for the new turns, not the whole history again. An
entry is found by uid (or call id) and used only when it was made from the very same turn object,
so a replaced turn (a transcript arrived) is computed again. Costs depend on the token counter:
a different counter starts the cache afresh.

The costs mirror how mistral_common tokenises a request: `[INST]`/`[/INST]` around a user message,
tool calls as a JSON list after `[TOOL_CALLS]`, and each result as `[TOOL_RESULTS]` JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from voxagent.conversation.blocks import Block
from voxagent.conversation.budget import TokenCounter, audio_tokens
from voxagent.conversation.messages import WireCall, parsed, result_text, user_text, wire_call
from voxagent.conversation.turns import AssistantTurn, ToolResultTurn, Turn, UserTurn

__all__ = ["USER_OVERHEAD", "AssistantEntry", "TurnCache"]

USER_OVERHEAD = 2
"""[INST] and [/INST] around every user message."""


@dataclass(frozen=True, slots=True)
class _UserEntry:
    turn: UserTurn
    as_audio: int
    as_text: int
    text_as_audio: str | None
    text_as_text: str | None


@dataclass(frozen=True, slots=True)
class _BlockEntry:
    block: Block
    audio_extra: int
    as_text: int


@dataclass(frozen=True, slots=True)
class AssistantEntry:
    """An assistant turn as it is sent.

    Attributes:
        turn: The turn it was made from.
        calls: Its tool calls as they are sent.
        cost: The tokens of its assistant message (its tool results are counted apart).
    """

    turn: AssistantTurn
    calls: tuple[WireCall, ...]
    cost: int


@dataclass(frozen=True, slots=True)
class _ResultEntry:
    call: WireCall
    result: ToolResultTurn | None
    content: str
    cost: int


class TurnCache:
    """Per-turn costs and texts of one conversation's requests (see the module docstring)."""

    def __init__(self) -> None:
        self._counter: TokenCounter | None = None
        self._users: dict[str, _UserEntry] = {}
        self._assistants: dict[str, AssistantEntry] = {}
        self._results: dict[str, _ResultEntry] = {}
        self._blocks: dict[str, _BlockEntry] = {}

    def __len__(self) -> int:
        sizes = (self._users, self._assistants, self._results, self._blocks)
        return sum(len(entries) for entries in sizes)

    def count_with(self, counter: TokenCounter) -> None:
        """Count tokens with `counter` from now on (a different one drops every entry)."""
        if counter != self._counter:  # equal, not identical: a bound method is made per access
            self._counter = counter
            self._users.clear()
            self._assistants.clear()
            self._results.clear()
            self._blocks.clear()

    def keep(self, turns: Iterable[Turn]) -> None:
        """Drop the entries of turns not in `turns` (those of requests never made, for one)."""
        users: set[str] = set()
        assistants: set[str] = set()
        calls: set[str] = set()
        for turn in turns:
            if isinstance(turn, UserTurn):
                users.add(turn.uid)
            elif isinstance(turn, AssistantTurn):
                assistants.add(turn.uid)
                calls.update(call.id for call in turn.tool_calls)
        self._users = {k: v for k, v in self._users.items() if k in users}
        self._assistants = {k: v for k, v in self._assistants.items() if k in assistants}
        self._results = {k: v for k, v in self._results.items() if k in calls}
        self._blocks = {k: v for k, v in self._blocks.items() if k in users or not k}

    def _count(self, text: str) -> int:
        assert self._counter is not None, "count_with() first"
        return self._counter(text)

    def block(self, block: Block, results: Mapping[str, ToolResultTurn]) -> tuple[int, int]:
        """The tokens of `block`'s messages `(added by its audio, with its audio as text)`.

        `results` are the history's tool results (`Blocks` replaces a block whose calls got one).
        """
        key = "" if block.user is None else block.user.uid
        entry = self._blocks.get(key)
        if entry is None or entry.block is not block:
            as_audio, as_text = self._user(block.user)
            followers = 0
            for turn in block.assistants:
                assistant = self.assistant(turn)
                followers += assistant.cost
                for call in assistant.calls:
                    followers += self.result(call, results.get(call[0]))[1]
            entry = _BlockEntry(block, as_audio - as_text, as_text + followers)
            self._blocks[key] = entry
        return entry.audio_extra, entry.as_text

    def _user_entry(self, turn: UserTurn) -> _UserEntry:
        entry = self._users.get(turn.uid)
        if entry is None or entry.turn is not turn:
            with_audio, as_text = user_text(turn, True), user_text(turn, False)
            audio = audio_tokens(turn.audio.duration_s) if turn.audio is not None else 0
            entry = _UserEntry(
                turn,
                USER_OVERHEAD + (self._count(with_audio) if with_audio else 0) + audio,
                USER_OVERHEAD + (self._count(as_text) if as_text else 0),
                with_audio,
                as_text,
            )
            self._users[turn.uid] = entry
        return entry

    def _user(self, turn: UserTurn | None) -> tuple[int, int]:
        if turn is None:
            return 0, 0
        entry = self._user_entry(turn)
        return entry.as_audio, entry.as_text

    def user_text(self, turn: UserTurn, as_audio: bool) -> str | None:
        """`user_text(turn, as_audio)`, computed once."""
        entry = self._user_entry(turn)
        return entry.text_as_audio if as_audio else entry.text_as_text

    def assistant(self, turn: AssistantTurn) -> AssistantEntry:
        """`turn` as it is sent, and what its assistant message costs."""
        entry = self._assistants.get(turn.uid)
        if entry is None or entry.turn is not turn:
            calls = tuple(wire_call(call) for call in turn.tool_calls)
            entry = AssistantEntry(turn, calls, self._assistant_cost(turn.text, calls))
            self._assistants[turn.uid] = entry
        return entry

    def _assistant_cost(self, text: str | None, calls: tuple[WireCall, ...]) -> int:
        if not calls:
            return 1 + self._count(text) if text else 0  # no message without text or calls
        body = [{"name": name, "arguments": parsed(arguments)} for _, name, arguments in calls]
        cost = 2 + self._count(json.dumps(body, ensure_ascii=False))
        cost += sum(2 + self._count(call_id) for call_id, _, _ in calls)
        return cost + (self._count(text) if text else 0)

    def result(self, call: WireCall, result: ToolResultTurn | None) -> tuple[str, int]:
        """The content sent for `call`'s result (None: it has none), and its tokens."""
        entry = self._results.get(call[0])
        if entry is None or entry.result is not result or entry.call != call:
            content = result_text(result)
            body = [{"name": call[1], "content": parsed(content)}]
            cost = 4 + self._count(call[0]) + self._count(json.dumps(body, ensure_ascii=False))
            entry = _ResultEntry(call, result, content, cost)
            self._results[call[0]] = entry
        return entry.content, entry.cost
