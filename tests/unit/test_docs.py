"""Every Python block in README.md and docs/*.md runs, so no snippet can rot.

The documents are discovered, not listed: a new docs/NAME.md has its blocks checked as soon as it
exists. Each block runs as a small program in a fresh module, in the environment docs/testing.md
describes ("Docs that run"):

- the working directory is a temporary folder holding every audio file the block names
  (`"cmd.wav"`, `"talk.flac"`...: the example recording, in that format);
- `http://127.0.0.1:8000/v1` is a validating `ScriptedServer` (serving the first `model="..."`
  the block names; it answers every chat request with text and every transcription), and
  `http://127.0.0.1:8001/v1` a `RealtimeTestServer`; the chat server must see no invalid request;
- `Microphone(...)` plays the example recording and ends (a finite `ArraySource`);
- top-level `await`, `async for` and `async with` work (as in `python -m asyncio`), and every
  `async def test_*()` the block defines is then called;
- a block preceded by `<!-- doc-test: not run (REASON) -->` is skipped: there may be only a few.

A failure names the file and the line of the block (tracebacks point at the Markdown lines).
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import os
import re
import sys
import textwrap
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import numpy as np
import pytest
import soundfile as sf

from voxagent import telemetry
from voxagent.testing import Reply, ScriptedRequest, ScriptedServer
from voxagent.testing.realtime_server import RealtimeTestServer

ROOT = Path(__file__).resolve().parents[2]
WAV = ROOT / "examples" / "audio" / "kitchen_light_on.wav"
CHAT_URL = "http://127.0.0.1:8000/v1"
REALTIME_URL = "http://127.0.0.1:8001/v1"
NOT_RUN = re.compile(r"<!--\s*doc-test:\s*not run\s*\((?P<reason>[^)]{10,})\)\s*-->")
# Deliberately unrunnable blocks must stay rare; each says why in its marker.
MAX_NOT_RUN = 2
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)\s*$")
AUDIO_NAME = re.compile(r"""["']([\w./-]+\.(?:wav|flac|ogg|mp3))["']""")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the first code line
    code: str
    not_run: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(path: Path) -> list[Block]:
    lines = path.read_text("utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, lang = opening.group("indent"), opening.group("lang")
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if lang == "python":
            previous = next((t for t in reversed(lines[:i]) if t.strip()), "")
            marker = NOT_RUN.search(previous)
            body = "\n".join(text[len(indent) :] for text in lines[i + 1 : end])
            found.append(
                Block(path, i + 2, textwrap.dedent(body), marker and marker.group("reason"))
            )
        i = end + 1
    return found


def all_blocks() -> list[Block]:
    return [block for path in documents() for block in python_blocks(path)]


def test_the_documents_have_python_blocks_to_run() -> None:
    blocks = all_blocks()
    names = {b.path.name for b in blocks}
    assert {"README.md", "testing.md", "conversation.md", "audio.md", "realtime.md"} <= names
    assert len(blocks) >= 6


def test_blocks_not_run_are_few_and_say_why() -> None:
    skipped = [f"{b.where}: {b.not_run}" for b in all_blocks() if b.not_run]
    assert len(skipped) <= MAX_NOT_RUN, "too many python blocks marked not run:\n" + "\n".join(
        skipped
    )
    for path in documents():
        text = path.read_text("utf-8")
        markers = len(NOT_RUN.findall(text))
        kept = sum(1 for b in python_blocks(path) if b.not_run)
        assert markers == kept, f"{path.name}: a doc-test marker is not right above a python block"


class DocEnvironment:
    """The servers and files a documentation block runs against."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, folder: Path) -> None:
        self.portal = portal
        self.folder = folder
        samples, rate = sf.read(WAV, dtype="float32")
        self.samples = samples
        self.rate = rate

    def make_audio(self, code: str) -> None:
        for name in set(AUDIO_NAME.findall(code)):
            target = self.folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            sf.write(target, self.samples, self.rate)

    def microphone(self, *args: Any, **kwargs: Any) -> Any:
        from voxagent.audio import ArraySource

        silence = np.zeros(self.rate * 2, dtype=np.float32)
        return ArraySource(np.concatenate([self.samples, silence]), self.rate)


def answer(request: ScriptedRequest) -> Reply:
    if request.kind == "transcription":
        return Reply.text("turn on the kitchen light")
    return Reply.text("OK.")


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[DocEnvironment]:
    with anyio.from_thread.start_blocking_portal() as portal:
        yield DocEnvironment(portal, tmp_path)


def run_block(block: Block, env: DocEnvironment) -> None:
    code = block.code
    model = re.search(r"""model=["']([^"']+)["']""", code)
    chat = ScriptedServer(model=model.group(1) if model else "voxtral-test", default=answer)
    realtime = RealtimeTestServer(model="mistralai/Voxtral-Mini-4B-Realtime-2602")
    with (
        env.portal.wrap_async_context_manager(chat) as server,
        env.portal.wrap_async_context_manager(realtime) as live,
    ):
        code = (
            code.replace(CHAT_URL, server.base_url)
            .replace(REALTIME_URL, live.base_url)
            .replace("Microphone(", "_doc_microphone(")
        )
        env.make_audio(code)
        # Padded so that line numbers in tracebacks are the Markdown file's own.
        source = "\n" * (block.line - 1) + code
        compiled = compile(
            source, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
        )
        module = types.ModuleType(f"doc_block_{block.path.stem}_{block.line}")
        module.__dict__["_doc_microphone"] = env.microphone
        sys.modules[module.__name__] = module  # dataclasses look their module up
        try:
            with contextlib.chdir(env.folder):
                outcome = eval(compiled, module.__dict__)
                if inspect.iscoroutine(outcome):
                    pending = outcome

                    async def main() -> None:
                        await pending

                    anyio.run(main)
                for name, value in list(module.__dict__.items()):
                    if name.startswith("test_") and inspect.iscoroutinefunction(value):
                        anyio.run(value)
        finally:
            del sys.modules[module.__name__]
            telemetry._state = None  # a block may configure telemetry: the next starts afresh
        assert server.errors == [], f"{block.where}: requests vLLM would refuse: {server.errors}"


@pytest.mark.parametrize(
    "block", [pytest.param(b, id=b.where) for b in all_blocks() if not b.not_run]
)
def test_python_block_runs(block: Block, environment: DocEnvironment) -> None:
    try:
        run_block(block, environment)
    except Exception as exc:
        detail = "".join(traceback.format_exception(exc)[-6:])
        pytest.fail(
            f"the python block at {block.where} failed: {type(exc).__name__}: {exc}\n{detail}\n"
            f"(docs/testing.md, 'Docs that run', says what such a block runs against)",
            pytrace=False,
        )


def test_a_broken_block_fails_with_its_file_and_line(
    tmp_path: Path, environment: DocEnvironment
) -> None:
    page = tmp_path / "page.md"
    page.write_text("# page\n\ntext\n\n```python\nx = 1\nundefined_name(x)\n```\n", "utf-8")
    (block,) = python_blocks(page)
    assert block.line == 6
    with pytest.raises(NameError) as caught:
        run_block(Block(ROOT / "docs" / "page.md", block.line, block.code, None), environment)
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert (frames[-1].filename, frames[-1].lineno) == (str(ROOT / "docs" / "page.md"), 7)


def test_the_environment_is_what_testing_md_promises() -> None:
    text = (ROOT / "docs" / "testing.md").read_text("utf-8")
    section = text.split("## Docs that run", 1)[1]
    for promise in (CHAT_URL, REALTIME_URL, "Microphone(", "doc-test: not run", "top-level"):
        assert promise in section, promise
    assert os.path.basename(__file__) in section
