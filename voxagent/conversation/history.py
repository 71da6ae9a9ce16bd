"""`Conversation`: the history of one dialogue with Voxtral, and the requests it renders."""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from voxagent.audio.clip import AudioClip
from voxagent.client.dialects import Dialect
from voxagent.client.types import ToolCall
from voxagent.conversation.budget import Budget, audio_tokens
from voxagent.conversation.render import make_plan, render_plan
from voxagent.conversation.turns import (
    AssistantTurn,
    ToolResultTurn,
    Turn,
    UserTurn,
    is_valid_call_id,
    new_call_id,
)
from voxagent.errors import ConversationError
from voxagent.text import clean_text

__all__ = ["Conversation"]

# audio_to_transcribe looks this far ahead: two more spoken turns of up to 30 s, with replies.
_LOOKAHEAD_AUDIO = 2
_LOOKAHEAD_TOKENS = 2 * (audio_tokens(30.0) + 200)
_SESSION_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def new_session_key() -> str:
    """A fresh random session key (22 URL-safe characters, 128 bits)."""
    return secrets.token_urlsafe(16)


def check_session_key(key: object) -> str:
    """Return `key` when it is a valid session key; raise `ConversationError` otherwise.

    A key travels in an HTTP header (`X-Session-ID`): 1-128 characters of letters, digits and
    `_ . : -`, so no value can split or inject a header.
    """
    if not isinstance(key, str) or _SESSION_KEY.fullmatch(key) is None:
        raise ConversationError(
            f"Invalid session key {key!r}",
            hint="Use 1-128 characters of letters, digits, '_', '.', ':' or '-' (or None).",
        )
    return key


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
        self._ids: set[str] = set()
        self._answered: set[str] = set()
        # What the last request compacted: kept compacted so the next request extends it.
        self._floor: tuple[int, int] = (0, 0)

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
        self._turns.append(turn)
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
            call_id = server_id
            if not is_valid_call_id(call_id) or call_id in self._ids:
                call_id = new_call_id(self._ids)
            self._ids.add(call_id)
            id_map.setdefault(server_id, call_id)
            stored.append(
                dataclasses.replace(
                    call,
                    id=call_id,
                    name=clean_text(call.name),
                    arguments=clean_text(call.arguments),
                )
            )
        turn = AssistantTurn(
            clean_text(text) if text else None, tuple(stored), self._clock(), id_map
        )
        self._turns.append(turn)
        return turn

    def add_tool_result(
        self, call_id: str, name: str, content: str, *, is_error: bool = False
    ) -> ToolResultTurn:
        """Record a tool's result. `call_id` may be the server's id or the stored one.

        The name and content are stored through `voxagent.text.clean_text`.

        Raises:
            ConversationError: No call has this id, or it already has a result.
        """
        stored_id = self._resolve(call_id)
        if stored_id in self._answered:
            raise ConversationError(
                f"Tool call {call_id!r} already has a result",
                hint="Add exactly one result per tool call.",
            )
        turn = ToolResultTurn(
            stored_id, clean_text(name), clean_text(content), is_error, self._clock()
        )
        self._answered.add(stored_id)
        self._turns.append(turn)
        return turn

    def _resolve(self, call_id: str) -> str:
        # Newest calls first, and an unanswered match before an answered one: servers may reuse
        # ids, and a repaired id's server id can equal another call's stored id.
        call_id = clean_text(call_id)
        candidates: list[str] = []
        for turn in reversed(self._turns):
            if isinstance(turn, AssistantTurn):
                candidates += [call.id for call in turn.tool_calls if call.id == call_id]
                if call_id in turn.id_map:
                    candidates.append(turn.id_map[call_id])
        if not candidates:
            raise ConversationError(
                f"No tool call with id {call_id!r} in this conversation",
                hint="Use the ids of the calls returned by add_assistant.",
            )
        return next((c for c in candidates if c not in self._answered), candidates[0])

    def _last_assistant(self) -> AssistantTurn | None:
        return next((t for t in reversed(self._turns) if isinstance(t, AssistantTurn)), None)

    def pending_tool_calls(self) -> list[ToolCall]:
        """The calls of the last assistant turn that have no result yet."""
        last = self._last_assistant()
        if last is None:
            return []
        return [call for call in last.tool_calls if call.id not in self._answered]

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
                self._turns[index] = dataclasses.replace(
                    existing, transcript=clean_text(text) if text else None
                )
                return
        raise ConversationError(
            "Cannot set a transcript: the turn is not part of this conversation",
            hint="Pass a UserTurn returned by this conversation's add_user.",
        )

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
        plan = make_plan(
            self._turns, self.instructions, budget or Budget(), tools, floor=self._floor
        )
        messages = render_plan(plan, self.instructions, dialect)
        self._floor = plan.floor
        return messages

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
        plan = make_plan(
            [*self._turns, turn], self.instructions, budget or Budget(), tools, floor=self._floor
        )
        return render_plan(plan, self.instructions, dialect)

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
        make_plan([*self._turns, candidate], self.instructions, budget, tools, floor=self._floor)

    def audio_to_transcribe(
        self, budget: Budget, tools: list[dict[str, Any]] | None = None
    ) -> list[UserTurn]:
        """Audio turns without a transcript that compaction needs now or within a turn or two.

        Fetch their transcripts (concurrently with the chat request) and `set_transcript` them,
        so that compacted audio keeps its meaning as text instead of a placeholder.
        """
        if not any(isinstance(t, UserTurn) for t in self._turns):
            return []
        now = make_plan(
            self._turns, self.instructions, budget, tools, strict=False, floor=self._floor
        )
        ahead = make_plan(
            self._turns,
            self.instructions,
            budget,
            tools,
            audio_slack=_LOOKAHEAD_AUDIO,
            token_slack=_LOOKAHEAD_TOKENS,
            strict=False,
            floor=self._floor,
        )
        sent = {id(t) for t in now.compacted()} | {
            id(block.user) for block in now.blocks[now.start :] if block.user is not None
        }
        return [t for t in ahead.compacted() if t.transcript is None and id(t) in sent]

    def to_dict(self) -> dict[str, Any]:
        """Return the conversation as JSON-ready data (audio inline as base64)."""
        from voxagent.conversation.storage import conversation_to_dict

        return conversation_to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, *, clock: Callable[[], float] = time.time) -> Conversation:
        """Rebuild a conversation from `to_dict` data, validating it.

        Raises:
            ConversationError: The data is not a valid saved conversation.
        """
        from voxagent.conversation.storage import conversation_from_dict

        return conversation_from_dict(data, clock=clock)

    def save(self, path: str | Path) -> None:
        """Write the conversation to a JSON file atomically (blocking: use a worker thread)."""
        from voxagent.conversation.storage import save_conversation

        save_conversation(self, Path(path))

    @classmethod
    def load(cls, path: str | Path, *, clock: Callable[[], float] = time.time) -> Conversation:
        """Read a conversation saved by `save` (blocking: use a worker thread).

        Raises:
            ConversationError: The file is missing, truncated, edited into an invalid state, or
                from an unknown format version.
        """
        from voxagent.conversation.storage import load_conversation

        return load_conversation(Path(path), clock=clock)

    def _restore(self, turn: Turn) -> None:
        """Append a turn read from storage, checking what `add_*` would have guaranteed."""
        if isinstance(turn, AssistantTurn):
            for call in turn.tool_calls:
                if not is_valid_call_id(call.id) or call.id in self._ids:
                    raise ConversationError(
                        f"Invalid or duplicate tool call id {call.id!r} in saved conversation",
                        hint="The file was edited or corrupted; restore it from a backup.",
                    )
                self._ids.add(call.id)
        elif isinstance(turn, ToolResultTurn):
            if turn.call_id not in self._ids or turn.call_id in self._answered:
                raise ConversationError(
                    f"Tool result for unknown or already answered call {turn.call_id!r}",
                    hint="The file was edited or corrupted; restore it from a backup.",
                )
            self._answered.add(turn.call_id)
        elif not turn.text and turn.audio is None:
            raise ConversationError(
                "A saved user turn has neither text nor audio",
                hint="The file was edited or corrupted; restore it from a backup.",
            )
        self._turns.append(turn)
