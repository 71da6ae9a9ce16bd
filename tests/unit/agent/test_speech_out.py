"""Speech out: sentences spoken as the answer streams, barge-in stops speech at once, a slow-tool
notice is not cut off, and the sentence splitter never loses or invents text."""

from __future__ import annotations

import contextlib
from typing import Any

import anyio
import pytest
from hypothesis import given, strategies as st

from voxagent import Agent, VoiceSettings, tool
from voxagent.audio import ArraySource
from voxagent.events import AssistantTextDelta, Event, ToolStillRunning, TurnCancelled
from voxagent.live.speech_out import MAX_SENTENCE_CHARS, SentenceSplitter
from voxagent.testing import Reply, ScriptedModel

from ...faults.conftest import RATE, speech


def split(*deltas: str) -> list[str]:
    splitter = SentenceSplitter()
    out: list[str] = []
    for delta in deltas:
        out += splitter.feed(delta)
    rest = splitter.flush()
    return [*out, rest] if rest else out


def test_sentences_end_at_stops_followed_by_space_whatever_the_chunking() -> None:
    text = "Hello Dr. Smith, it is 21.5 degrees. Shall I open it? Yes! 好的。我们走！Done"  # noqa: RUF001
    expected = [
        "Hello Dr. Smith, it is 21.5 degrees.",
        "Shall I open it?",
        "Yes!",
        "好的。",
        "我们走！",  # noqa: RUF001
        "Done",
    ]
    assert split(text) == expected
    assert split(*text) == expected  # one character at a time
    assert split(*[text[i : i + 7] for i in range(0, len(text), 7)]) == expected


def test_abbreviations_initials_and_line_breaks() -> None:
    assert split("See e.g. the manual. J. R. R. Tolkien wrote it.") == [
        "See e.g. the manual.",
        "J. R. R. Tolkien wrote it.",
    ]
    assert split("First line\nsecond line.") == ["First line", "second line."]
    assert split('He said "stop." Then left.') == ['He said "stop."', "Then left."]


def test_a_run_without_stops_is_cut_at_a_space_before_the_limit() -> None:
    words = " ".join(["word"] * 200)
    parts = split(words)
    assert len(parts) > 1
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in parts)
    assert " ".join(parts) == words


@given(st.lists(st.text(alphabet="ab .!?,\n好。", max_size=30), max_size=12))
def test_the_splitter_loses_nothing(deltas: list[str]) -> None:
    spoken = split(*deltas)
    assert all(s and s == s.strip() for s in spoken)
    assert "".join(spoken).replace(" ", "").replace("\n", "") == "".join(deltas).replace(
        " ", ""
    ).replace("\n", "")


pytestmark_async = pytest.mark.anyio


@pytestmark_async
async def test_the_first_sentence_is_spoken_while_the_answer_still_streams() -> None:
    deltas: list[str] = []
    heard: list[tuple[str, int]] = []  # (sentence, deltas the consumer had when it was spoken)

    async def speaker(text: str) -> None:
        heard.append((text, len(deltas)))

    answer = "The kitchen light is on. The bedroom stays dark. Anything else I can do for you?"
    reply = Reply.text(answer, chunk_size=4, chunk_delay=0.03)

    def seen(event: Event) -> None:
        if isinstance(event, AssistantTextDelta):
            deltas.append(event.text)

    async with ScriptedModel([reply]) as model:
        async with Agent(model, voice=VoiceSettings(speaker=speaker)) as agent:
            await agent.ask(text="lights?", on_event=seen)
    assert [text for text, _ in heard] == [
        "The kitchen light is on.",
        "The bedroom stays dark.",
        "Anything else I can do for you?",
    ]
    total = len(deltas)
    assert heard[0][1] < total // 2  # spoken long before the answer was complete
    assert heard[-1][1] == total


@pytestmark_async
async def test_barge_in_stops_the_current_sentence_at_once_and_drops_the_rest() -> None:
    started = anyio.Event()
    outcome: list[str] = []

    async def speaker(text: str) -> None:
        outcome.append(f"start {text}")
        if text != "One sentence here.":
            return
        started.set()
        try:
            await anyio.sleep(30)  # a long sentence, interrupted
        except anyio.get_cancelled_exc_class():
            outcome.append("stopped")
            raise

    reply = Reply.text("One sentence here. Another one. And a third.")

    class Person:
        live = True

        async def __aiter__(self) -> Any:
            async for frame in ArraySource(speech("what_time"), RATE):
                yield frame
            with anyio.fail_after(10):
                await started.wait()
            async for frame in ArraySource(speech("no"), RATE):
                yield frame.__class__(frame.samples, frame.start + 10.0)

    events: list[Event] = []
    async with ScriptedModel([reply, Reply.text("ok")]) as model:
        async with Agent(model, voice=VoiceSettings(speaker=speaker)) as agent:
            with anyio.fail_after(30):
                async with contextlib.aclosing(agent.listen(Person())) as stream:
                    async for event in stream:
                        events.append(event)
    assert outcome == ["start One sentence here.", "stopped", "start ok"]
    assert any(isinstance(e, TurnCancelled) for e in events)


@pytestmark_async
async def test_the_slow_tool_notice_is_not_cut_off_when_the_tool_finishes() -> None:
    spoken: list[str] = []

    async def speaker(text: str) -> None:
        await anyio.sleep(0.3)  # longer than the tool still has to run
        spoken.append(text)

    @tool
    async def slow() -> str:
        """Take a while."""
        await anyio.sleep(0.2)
        return "done"

    events: list[Event] = []
    async with ScriptedModel([Reply.tool_call("slow"), Reply.text("All done.")]) as model:
        async with Agent(
            model,
            tools=[slow],
            voice=VoiceSettings(speaker=speaker, slow_tool_after=0.05),
        ) as agent:
            await agent.ask(text="go", on_event=events.append)
    assert any(isinstance(e, ToolStillRunning) for e in events)
    assert spoken == ["One moment, I'm still working on it.", "All done."]
