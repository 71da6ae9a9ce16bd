"""`Conversation`: the history of one dialogue with Voxtral, and the requests it renders.

The conversation records turns and keeps their rules (tool-call ids: `calls`; the session key:
`session`). Its requests are planned and written by `requests` (with `render`, `blocks`, `cache`
and `messages`); it is saved as a `snapshot` by `storage`, which never imports this module.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from voxagent.audio.clip import AudioClip
from voxagent.client.dialects import Dialect
from voxagent.client.types import ToolCall
from voxagent.conversation.budget import Budget
from voxagent.conversation.calls import CallIds
from voxagent.conversation.requests import Requests
from voxagent.conversation.session import check_session_key, new_session_key
from voxagent.conversation.snapshot import ConversationSnapshot
from voxagent.conversation.storage import (
    load_snapshot,
    save_snapshot,
    snapshot_from_dict,
    snapshot_to_dict,
)
from voxagent.conversation.turns import AssistantTurn, ToolResultTurn, Turn, UserTurn
from voxagent.errors import ConversationError
from voxagent.text import clean_text

__all__ = ["Conversation"]


class Conversation:
    """The turns of one conversation, rendered into Voxtral-valid requests.

    Every request `render` returns passes mistral_common's validation as vLLM applies it,
    whatever happened before: cancelled tool calls, failed tools, compaction, save and load.

    Args:
        instructions: The agent's instructions (system prompt), if any.
        clock: Returns the current time in seconds; stamps `created_at` on every turn.
        session_key: The conversation's stable key for session affinity (sent as the
            `X-Session-ID` header with every chat request, saved with the conversation); None
            makes a random one.

    Raises:
        ConversationError: `session_key` is not 1-128 characters of `[A-Za-z0-9_.:-]`.
    """

    def __init__(
        self,
        instructions: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        session_key: str | None = None,
    ) -> None:
        self.session_key = new_session_key() if session_key is None else session_key
        self._instructions = clean_text(instructions) if instructions else None
        self._clock = clock
        self._turns: list[Turn] = []
        self._calls = CallIds()
        # Follows the turns as they come, so a request only works on the turns new to it.
        self._requests = Requests()

    @property
    def session_key(self) -> str:
        """The conversation's key for session affinity: stable for its whole life, saved with it.

        Every chat request of the conversation carries it as the `X-Session-ID` header, which
        vllm-router's `consistent_hash` policy hashes to pick a replica (and vLLM itself reads as
        the request's session id): all turns land on the replica that holds the conversation's
        prefix in its cache. Set your own (a call id, a user id) to keep it across processes.
        """
        return self._session_key

    @session_key.setter
    def session_key(self, value: str) -> None:
        self._session_key = check_session_key(value)

    @property
    def instructions(self) -> str | None:
        """The agent's instructions (system prompt), if any; set them at any time.

        Stored through `voxagent.text.clean_text`, like every other text of the conversation.
        """
        return self._instructions

    @instructions.setter
    def instructions(self, value: str | None) -> None:
        self._instructions = clean_text(value) if value else None

    @property
    def turns(self) -> tuple[Turn, ...]:
        """Every turn, oldest first."""
        return tuple(self._turns)

    def add_user(
        self,
        *,
        text: str | None = None,
        audio: AudioClip | None = None,
        transcript: str | None = None,
    ) -> UserTurn:
        """Add what the user said (audio) and/or typed (text).

        Text is stored through `voxagent.text.clean_text`, so that no character can make a
        later request or `save()` fail to encode.

        Raises:
            ConversationError: Neither text nor audio was given, or the audio is empty.
        """
        text = clean_text(text) if text else None
        transcript = clean_text(transcript) if transcript else None
        if audio is not None and (not audio.nbytes or audio.duration_s <= 0):
            raise ConversationError(
                f"Cannot add an empty audio clip ({audio!r})",
                hint="Record or load some sound before adding a spoken turn.",
            )
        if not text and audio is None:
            raise ConversationError(
                "A user turn needs text or audio, and got neither",
                hint="Pass text=... or audio=... to add_user.",
            )
        turn = UserTurn(text or None, audio, transcript or None, self._clock())
        self._append(turn)
        return turn

    def add_assistant(self, text: str | None, tool_calls: Sequence[ToolCall] = ()) -> AssistantTurn:
        """Add the model's answer; ids Voxtral would reject are replaced by fresh valid ones.

        A server id is kept when it is 9 characters of [a-zA-Z0-9] and not used before in this
        conversation. Use the returned turn's `tool_calls` (or its `id_map`) from then on. The
        text, the calls' names and arguments and the server ids kept in `id_map` are stored
        through `voxagent.text.clean_text`.
        """
        stored: list[ToolCall] = []
        id_map: dict[str, str] = {}
        for call in tool_calls:
            # id_map is saved with the conversation, so its keys must encode too; _resolve
            # cleans the id it is asked about the same way.
            server_id = clean_text(call.id)
            call_id = self._calls.store(server_id)
            id_map.setdefault(server_id, call_id)
            cleaned = {"name": clean_text(call.name), "arguments": clean_text(call.arguments)}
            stored.append(dataclasses.replace(call, id=call_id, **cleaned))
        text = clean_text(text) if text else None
        turn = AssistantTurn(text, tuple(stored), self._clock(), id_map)
        self._append(turn)
        return turn

    def add_tool_result(
        self, call_id: str, name: str, content: str, *, is_error: bool = False
    ) -> ToolResultTurn:
        """Record a tool's result. `call_id` may be the server's id or the stored one.

        The name and content are stored through `voxagent.text.clean_text`.

        Raises:
            ConversationError: No call has this id, or it already has a result.
        """
        stored_id = self._calls.resolve(clean_text(call_id), self._turns)
        self._calls.answer(stored_id, call_id)
        turn = ToolResultTurn(
            stored_id, clean_text(name), clean_text(content), is_error, self._clock()
        )
        self._append(turn)
        return turn

    def _append(self, turn: Turn) -> None:
        self._turns.append(turn)
        self._requests.add(turn)

    def _last_assistant(self) -> AssistantTurn | None:
        return next((t for t in reversed(self._turns) if isinstance(t, AssistantTurn)), None)

    def pending_tool_calls(self) -> list[ToolCall]:
        """The calls of the last assistant turn that have no result yet."""
        last = self._last_assistant()
        if last is None:
            return []
        return self._calls.pending(last)

    def close_pending(
        self, content: str = "Cancelled before it finished.", *, is_error: bool = True
    ) -> list[ToolCall]:
        """Record `content` as the result of every unanswered call (after a cancellation).

        Returns:
            The calls that were closed.
        """
        pending = self.pending_tool_calls()
        for call in pending:
            self.add_tool_result(call.id, call.name, content, is_error=is_error)
        return pending

    def set_transcript(self, turn: UserTurn, text: str) -> None:
        """Attach what `turn`'s audio says (used when its audio is compacted to text).

        The text is stored through `voxagent.text.clean_text`.

        Raises:
            ConversationError: The turn is not part of this conversation.
        """
        for index, existing in enumerate(self._turns):
            if isinstance(existing, UserTurn) and existing.uid == turn.uid:
                replaced = dataclasses.replace(
                    existing, transcript=clean_text(text) if text else None
                )
                self._turns[index] = replaced
                self._requests.replace_user(replaced)
                return
        raise ConversationError(
            "Cannot set a transcript: the turn is not part of this conversation",
            hint="Pass a UserTurn returned by this conversation's add_user.",
        )

    def withdraw(self, turn: UserTurn) -> None:
        """Take back a user turn and every turn after it, as if it had not been added yet.

        For a turn the user went on speaking over before the agent did anything with it: the
        next turn carries its audio. What compaction settled stays settled.

        Raises:
            ConversationError: The turn is not part of this conversation.
        """
        index = next((i for i, kept in enumerate(self._turns) if kept is turn), None)
        if index is None:
            raise ConversationError(
                "Cannot withdraw a turn that is not part of this conversation",
                hint="Pass a UserTurn returned by this conversation's add_user.",
            )
        kept, floor = self._turns[:index], self._requests.floor
        self._turns, self._calls, self._requests = [], CallIds(), Requests()
        for earlier in kept:
            self._replay(earlier)
        self._requests.floor = floor

    def render(
        self,
        dialect: Dialect,
        *,
        budget: Budget | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Return the request's messages (OpenAI-shaped), compacted to fit `budget`.

        Args:
            dialect: The server family; it shapes the audio parts.
            budget: The limits; the default allows 5 audio items and no token limit.
            tools: The tools sent with the request (counted against the token budget).

        Raises:
            ConversationError: No user turn yet, or the last turn is the assistant's answer.
            ContextLengthError: The newest turn alone does not fit the context.
        """
        return self._requests.render(self.instructions, dialect, budget or Budget(), tools)

    def render_next(
        self,
        dialect: Dialect,
        *,
        text: str | None = None,
        audio: AudioClip | None = None,
        budget: Budget | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """The messages `render` would return after `add_user(text=, audio=)`, adding nothing.

        Used to send a request speculatively (before the user's turn is confirmed) that is
        byte for byte the one the confirmed turn would send.

        Raises:
            ConversationError: Neither text nor audio, or the conversation cannot take a user
                turn now.
            ContextLengthError: The new turn does not fit the context.
        """
        text = clean_text(text) if text else None
        if not text and audio is None:
            raise ConversationError(
                "A user turn needs text or audio, and got neither",
                hint="Pass text=... or audio=...",
            )
        turn = UserTurn(text, audio, None, self._clock())
        # From the same compaction floor as `render`, and without moving it: nothing is added.
        return self._requests.render(
            self.instructions, dialect, budget or Budget(), tools, extra=turn
        )

    def check_fits(
        self,
        budget: Budget,
        *,
        text: str | None = None,
        audio: AudioClip | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> None:
        """Check that a user turn would fit the context, without adding it.

        Call it before `add_user` for input that may be too long (a two-hour recording): a turn
        that does not fit makes every later `render` fail until it is gone, so it is better
        never recorded. Older turns are compacted or dropped exactly as `render` would.

        Args:
            budget: The limits the next request is rendered with.
            text: The turn's text, if any.
            audio: The turn's audio, if any.
            tools: The tools sent with the request.

        Raises:
            ContextLengthError: The turn alone does not fit; its hint says how much audio does.
        """
        candidate = UserTurn(clean_text(text) if text else None, audio, None, 0.0)
        self._requests.plan(self.instructions, budget, tools, extra=candidate)

    def audio_to_transcribe(
        self, budget: Budget, tools: list[dict[str, Any]] | None = None
    ) -> list[UserTurn]:
        """Audio turns without a transcript that compaction needs now or within a turn or two.

        Fetch their transcripts (concurrently with the chat request) and `set_transcript` them,
        so that compacted audio keeps its meaning as text instead of a placeholder.
        """
        return self._requests.to_transcribe(self.instructions, budget, tools)

    def snapshot(self) -> ConversationSnapshot:
        """Return everything the conversation is saved as (see `from_snapshot`)."""
        return ConversationSnapshot(
            self.instructions, self.session_key, tuple(self._turns), self._requests.floor
        )

    @classmethod
    def from_snapshot(
        cls, snapshot: ConversationSnapshot, *, clock: Callable[[], float] = time.time
    ) -> Conversation:
        """Rebuild a conversation from a snapshot (of `snapshot()`, or read by storage).

        The turns are replayed with the guarantees `add_*` give checked: tool call ids valid
        and unique, one result per call and only for a call made before, no empty user turn.
        Texts are taken as they are (storage cleans what it reads).

        Args:
            snapshot: The stored parts.
            clock: Stamps the turns added from now on.

        Raises:
            ConversationError: The turns break one of those guarantees, or the session key
                is invalid.
        """
        conversation = cls(snapshot.instructions, clock=clock, session_key=snapshot.session_key)
        for turn in snapshot.turns:
            conversation._replay(turn)
        if snapshot.compacted is not None:
            conversation._requests.floor = snapshot.compacted
        return conversation

    def _replay(self, turn: Turn) -> None:
        if isinstance(turn, UserTurn) and not turn.text and turn.audio is None:
            raise ConversationError(
                "A saved user turn has neither text nor audio",
                hint="The file was edited or corrupted; restore it from a backup.",
            )
        self._calls.replay(turn)
        self._append(turn)

    def to_dict(self) -> dict[str, Any]:
        """Return the conversation as JSON-ready data (audio inline as base64)."""
        return snapshot_to_dict(self.snapshot())

    @classmethod
    def from_dict(cls, data: Any, *, clock: Callable[[], float] = time.time) -> Conversation:
        """Rebuild a conversation from `to_dict` data, validating it.

        Raises:
            ConversationError: The data is not a valid saved conversation.
        """
        return cls.from_snapshot(snapshot_from_dict(data), clock=clock)

    def save(self, path: str | Path) -> None:
        """Write the conversation to a JSON file atomically (blocking: use a worker thread)."""
        save_snapshot(self.snapshot(), Path(path))

    @classmethod
    def load(cls, path: str | Path, *, clock: Callable[[], float] = time.time) -> Conversation:
        """Read a conversation saved by `save` (blocking: use a worker thread).

        Raises:
            ConversationError: The file is missing, truncated, edited into an invalid state, or
                from an unknown format version.
        """
        snapshot = load_snapshot(Path(path))
        try:
            return cls.from_snapshot(snapshot, clock=clock)
        except ConversationError as error:
            raise ConversationError(f"{path}: {error.message}", hint=error.hint) from error
