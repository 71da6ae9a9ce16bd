"""`voxagent web` in a real browser: headless Chromium hearing a real person through the page.

Debian's Chromium, driven by Playwright, with its fake microphone playing a real recording
("Front center", alsa-utils; tools/browser.py): the page captures it with getUserMedia and an
AudioWorklet, sends 16 kHz PCM16 frames to `voxagent web` (the real command, in a subprocess,
serving examples/smart_home.py), whose endpointer cuts the utterance; a scripted model server
(validating every request as vLLM does) calls a tool; the page shows the call, its result and
the answer as it streams. The browser's speech synthesis is replaced by a recorder (headless
Chromium has no voices), so the tests see what the page said and when it stopped talking.
One test runs against the real vLLM CPU server with a named tool choice.

With CI=true a missing Chromium or Playwright fails these tests; elsewhere they are skipped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import anyio.from_thread
import httpx
import pytest

from voxagent.testing import Reply, ScriptedCall, ScriptedServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "smart_home.py"
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
WAIT_MS = 60_000  # generous: two CPU cores shared with vLLM and other tests

# Replaces window.speechSynthesis with a recorder that also notes each server message as it
# arrives (before the page handles it), and watches the assistant's bubbles grow.
PAGE_PROBES = """
window.__speech = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (message) => {
      if (typeof message.data !== "string") return;
      const event = JSON.parse(message.data);
      window.__speech.push(["event", event.type + (event.while_busy ? " while busy" : "")]);
    });
  }
};
const recorder = {
  speak(utterance) { window.__speech.push(["speak", utterance.text]); },
  cancel() { window.__speech.push(["cancel"]); },
  getVoices() { return []; },
  speaking: false, pending: false, paused: false,
};
Object.defineProperty(window, "speechSynthesis", { value: recorder, configurable: true });
window.__assistant = [];
new MutationObserver(() => {
  for (const bubble of document.querySelectorAll(".bubble.assistant")) {
    const text = bubble.textContent;
    if (window.__assistant[window.__assistant.length - 1] !== text) window.__assistant.push(text);
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


def _load_browser_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "voxagent_tools_browser", ROOT / "tools" / "browser.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


browser_tool = _load_browser_tool()


def _unavailable(reason: str) -> None:
    if CI:
        pytest.fail(f"the browser tests are required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    missing = browser_tool.have_chromium()
    if missing:
        _unavailable(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _launch(playwright: Any, *, loop: bool) -> Any:
    try:
        wav = browser_tool.padded_speech(0.5, 3.0)
    except browser_tool.SpeechUnavailable as exc:
        _unavailable(str(exc))
    executable = (
        str(browser_tool.CHROMIUM) if browser_tool.CHROMIUM.is_file() else shutil.which("chromium")
    )
    return playwright.chromium.launch(
        executable_path=executable, args=browser_tool.chromium_args(wav, loop=loop)
    )


@pytest.fixture(scope="module")
def chromium(playwright: Any) -> Iterator[Any]:
    """Chromium whose microphone says "Front center" once, 0.5 s after it opens."""
    browser = _launch(playwright, loop=False)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def chromium_looping(playwright: Any) -> Iterator[Any]:
    """Chromium whose microphone says "Front center" every 4.9 s."""
    browser = _launch(playwright, loop=True)
    yield browser
    browser.close()


@pytest.fixture
def scripted() -> Iterator[Any]:
    """Start a `ScriptedServer` in a thread of its own: `scripted(replies, default=...)`."""
    with contextlib.ExitStack() as stack:
        portal = stack.enter_context(anyio.from_thread.start_blocking_portal())

        def start(replies: list[Any], **options: Any) -> ScriptedServer:
            manager = portal.wrap_async_context_manager(ScriptedServer(replies, **options))
            server: ScriptedServer = stack.enter_context(manager)
            return server

        start.other = lambda server: stack.enter_context(  # type: ignore[attr-defined]
            portal.wrap_async_context_manager(server)
        )
        yield start


def by_content(user_turn: Reply, after_tool: Reply, later: Reply | None = None) -> Any:
    """Answer by what a request holds, not by its place in line.

    A listen session may send a turn's request early, at a pause inside the utterance ("Front
    ... center" has one), and throw the answer away when the speaker goes on (speculation): an
    ordered script would lose a reply to it. `later` answers turns after the first.
    """

    def respond(request: dict[str, Any]) -> Reply:
        messages = request["messages"]
        if messages[-1]["role"] == "tool":
            return after_tool
        users = sum(1 for m in messages if m["role"] == "user")
        return user_turn if users == 1 or later is None else later

    return respond


@dataclass
class WebProcess:
    """A running `voxagent web` command."""

    url: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def wait_for_line(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.05)

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.origin}/healthz", timeout=10).json()
        return body

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


@contextlib.contextmanager
def voxagent_web(*options: str, app: Path | str = APP) -> Iterator[WebProcess]:
    """Run `voxagent web APP --port 0 OPTIONS` (the smart-home example) until the block ends."""
    command = [sys.executable, "-m", "voxagent.cli", "web", str(app), "--port", "0", *options]
    # Silence decides the ends: the page is under test, not the end of turn (the turn detector
    # may rightly hear "Front" as a finished turn before "center"; tests/integration/
    # test_real_speech_turns.py covers the detector through listen()).
    env = {**os.environ, "VOXAGENT_TURN_MODEL": "off"}
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            if "voxagent web: http" in line:
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not found.wait(60):
            pytest.fail(f"voxagent web did not start: {lines}")
        match = re.search(r"(http://\S+)", next(line for line in lines if "voxagent web:" in line))
        assert match is not None
        web = WebProcess(match.group(1), process, lines)
        yield web
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        reader.join(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    assert code == 130, lines  # interrupted, as asked
    assert not any("Traceback" in line for line in lines), "\n".join(lines)


@dataclass
class Visit:
    """A page in its own browser context, with what it asked the network for."""

    page: Any
    context: Any
    requests: list[str]

    def speech(self, events: bool = False) -> list[list[str]]:
        """What the page said and stopped saying (and, with `events`, the messages between)."""
        log: list[list[str]] = self.page.evaluate("window.__speech")
        return log if events else [entry for entry in log if entry[0] != "event"]

    def close(self) -> None:
        self.context.close()


def visit(browser: Any, web: WebProcess, url: str | None = None) -> Visit:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    requests: list[str] = []

    def only_the_server(route: Any) -> None:
        requests.append(route.request.url)
        if route.request.url.startswith(web.origin):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    page.add_init_script(PAGE_PROBES)
    page.goto(url or web.url)
    return Visit(page, context, requests)


def connected_with_microphone(visit_: Visit) -> None:
    page = visit_.page
    page.wait_for_selector("#status.connected", timeout=WAIT_MS)
    page.click("#start")
    page.wait_for_selector("#start:has-text('Microphone on')", timeout=WAIT_MS)


def hold_talk(page: Any, seconds: float) -> None:
    page.hover("#talk")
    page.mouse.down()
    page.wait_for_timeout(int(seconds * 1000))
    page.mouse.up()


# ------------------------------------------------------------------ scripted model


def test_the_page_hears_real_speech_shows_the_tool_call_and_streams_the_answer(
    chromium: Any, scripted: Any, tmp_path: Path
) -> None:
    model = scripted(
        [],
        default=by_content(
            Reply.tool_call("set_light", {"room": "kitchen", "on": True}),
            Reply.text("The kitchen light is on.", chunk_size=3, chunk_delay=0.04),
        ),
    )
    with voxagent_web("--base-url", model.base_url) as web:
        v = visit(chromium, web)
        connected_with_microphone(v)
        page = v.page
        page.wait_for_selector(".tool.ok", timeout=WAIT_MS)
        page.wait_for_selector(".latency", timeout=WAIT_MS)
        you = page.inner_text(".bubble.you")
        tool_args = page.inner_text(".tool .args")
        tool_result = page.inner_text(".tool .result")
        answer = page.inner_text(".bubble.assistant")
        legend = page.inner_text(".latency")
        grown: list[str] = page.evaluate("window.__assistant")
        shot = tmp_path / "web.png"
        page.screenshot(path=str(shot), full_page=True)
        spoken = v.speech()
        v.close()
        web.wait_for_line("visitor 1 left")
    assert model.errors == []
    # The endpointer cut one utterance of about the recording's length (1.4 s + pre-roll).
    match = re.search(r"\((\d+\.\d) s of speech\)", you)
    assert match is not None and 1.0 <= float(match.group(1)) <= 3.0, you
    assert tool_args == 'set_light(room="kitchen", on=true, brightness=100)'
    assert tool_result == '→ {"room":"kitchen","on":true,"brightness":100}'
    assert answer.endswith("The kitchen light is on.")
    # The answer streamed in: the bubble grew through several lengths before it was whole.
    texts = [t for t in grown if "kitchen" in t or t.startswith("assistant")]
    assert len(texts) >= 4 and texts[-1].endswith("The kitchen light is on."), grown
    for stage in ("endpointing", "first token", "tools", "total"):
        assert stage in legend
    assert ["speak", "The kitchen light is on."] in spoken
    # No network but the server: every request the page made was to it.
    assert v.requests and all(url.startswith(web.origin) for url in v.requests), v.requests
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    keep = os.environ.get("VOXAGENT_WEB_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_live_captions_show_while_the_visitor_speaks(chromium: Any, scripted: Any) -> None:
    from voxagent.testing.realtime_server import RealtimeTestServer

    captions = scripted.other(RealtimeTestServer(script=[[" Front", " centre", "."]]))
    model = scripted([], default=Reply.text("Centre it is."))
    with voxagent_web(
        "--base-url",
        model.base_url,
        "--captions-url",
        captions.base_url,
        "--captions-model",
        captions.model,
    ) as web:
        v = visit(chromium, web)
        connected_with_microphone(v)
        v.page.wait_for_selector(".latency", timeout=WAIT_MS)
        you = v.page.inner_text(".bubble.you")
        v.close()
    assert model.errors == []
    assert you == "you\nFront centre."  # the caption became the turn's text on the page
    # The captions came from the audio the page sent: the server received real appends.
    assert any(m.get("type") == "input_audio_buffer.append" for m in captions.received)


def test_a_confirmation_is_answered_with_the_page_buttons(chromium: Any, scripted: Any) -> None:
    model = scripted(
        [],
        default=by_content(
            Reply.tool_call("unlock_front_door", {}), Reply.text("The door is open.")
        ),
    )
    with voxagent_web("--base-url", model.base_url) as web:
        v = visit(chromium, web)
        connected_with_microphone(v)
        page = v.page
        page.wait_for_selector(".confirm button:has-text('Yes')", timeout=WAIT_MS)
        question = page.inner_text(".confirm .question")
        page.click(".confirm button:has-text('Yes')")
        page.wait_for_selector(".tool.ok", timeout=WAIT_MS)
        page.wait_for_selector(".latency", timeout=WAIT_MS)
        answer = page.inner_text(".confirm .answer")
        result = page.inner_text(".tool .result")
        spoken = v.speech()
        v.close()
    assert model.errors == []
    assert question == "Run unlock_front_door()? Say yes or no."
    assert answer == "approved"
    assert result == "→ The front door is unlocked."
    assert ["speak", question] in spoken  # the question is also said aloud


def test_push_to_talk_and_a_spoken_yes(chromium_looping: Any, scripted: Any) -> None:
    model = scripted(
        [
            Reply.tool_call("unlock_front_door", {}),
            Reply.tool_call("record_reply", {"answer": "yes"}),  # the spoken answer, classified
            Reply.text("Unlocked."),
        ]
    )
    with voxagent_web("--base-url", model.base_url) as web:
        v = visit(chromium_looping, web)
        page = v.page
        page.wait_for_selector("#status.connected", timeout=WAIT_MS)
        page.check("input[value='push_to_talk']")
        connected_with_microphone(v)
        page.wait_for_selector("#talk:not([disabled])", timeout=WAIT_MS)
        hold_talk(page, 2.0)
        page.wait_for_selector(".confirm", timeout=WAIT_MS)
        hold_talk(page, 1.5)  # the answer, by voice this time
        page.wait_for_selector(".tool.ok", timeout=WAIT_MS)
        page.wait_for_selector(".latency", timeout=WAIT_MS)
        answer = page.inner_text(".confirm .answer")
        you = page.inner_text(".bubble.you")
        v.close()
    assert model.errors == []
    assert answer == "approved"
    match = re.search(r"\((\d+\.\d) s of speech\)", you)
    assert match is not None and 1.5 <= float(match.group(1)) <= 2.6, you  # as long as held
    classify = model.requests[1]
    assert classify["tool_choice"] == {"type": "function", "function": {"name": "record_reply"}}


def test_barge_in_stops_the_speech_at_once_and_cancels_the_turn(
    chromium_looping: Any, scripted: Any
) -> None:
    # The first turn says something, then waits on a slow model: the recording, heard again
    # 4.9 s after it began, barges in.
    model = scripted(
        [],
        default=by_content(
            Reply(
                content="Let me see.",
                calls=(ScriptedCall("set_light", {"room": "kitchen", "on": True}),),
            ),
            Reply.text("too late", delay=60),
            later=Reply.text("Yes?"),
        ),
    )
    with voxagent_web("--base-url", model.base_url) as web:
        v = visit(chromium_looping, web)
        connected_with_microphone(v)
        page = v.page
        page.wait_for_selector(".turn.cancelled", timeout=WAIT_MS)
        page.wait_for_selector(".bubble.assistant:has-text('Yes?')", timeout=WAIT_MS)
        notice = page.inner_text(".turn.cancelled .notice")
        log = v.speech(events=True)
        v.close()
    assert notice == "cancelled (barge-in)"
    said = log.index(["speak", "Let me see."])
    barge_in = log.index(["event", "speech_started while busy"])
    cancelled = log.index(["event", "turn_cancelled"])
    # Silenced as soon as the user was heard again, before the server cancelled the turn.
    assert said < barge_in and log[barge_in + 1] == ["cancel"] and barge_in < cancelled, log
    assert ["speak", "Yes?"] in log[cancelled:]


NUMBERED_APP = """
import itertools, sys
sys.path.insert(0, {examples!r})
from smart_home import Home, set_light, unlock_front_door
from voxagent import Agent

_numbers = itertools.count()  # 0: the check at start-up, then each visitor in turn


def make_agent():
    return Agent(tools=[set_light, unlock_front_door], deps=Home(),
                 instructions=f"You are assistant {{next(_numbers)}}.")
"""


def test_two_visitors_at_once_and_a_tab_closed_mid_turn(
    chromium: Any, scripted: Any, tmp_path: Path
) -> None:
    app = tmp_path / "numbered.py"
    app.write_text(NUMBERED_APP.format(examples=str(ROOT / "examples")))

    def respond(request: dict[str, Any]) -> Reply:
        text = str(request["messages"])
        if "You are assistant 1." in text:  # the first visitor: they leave mid-turn
            return Reply.text("never seen", delay=60)
        if "You are assistant 2." in text:
            return by_content(
                Reply.tool_call("set_light", {"room": "bedroom", "on": True}),
                Reply.text("Bedroom on."),
            )(request)
        return Reply.text("Hello, third visitor.")

    model = scripted([], default=respond)
    with voxagent_web("--base-url", model.base_url, app=f"{app}:make_agent") as web:
        leaving = visit(chromium, web)
        connected_with_microphone(leaving)
        leaving.page.wait_for_selector(".turn", timeout=WAIT_MS)
        deadline = time.monotonic() + 60
        while len(model.requests) < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        staying = visit(chromium, web)
        connected_with_microphone(staying)
        staying.page.wait_for_selector(".bubble.assistant:has-text('Bedroom on.')", timeout=WAIT_MS)
        assert web.health()["visitors"] == 2
        # Nothing of the second visitor's turn reached the first visitor's page.
        assert leaving.page.locator(".tool").count() == 0
        assert leaving.page.locator(".bubble.assistant").count() == 0
        leaving.close()  # mid-turn: its model request is still waiting
        web.wait_for_line("visitor 1 left")
        assert web.health() == {"ok": True, "visitors": 1}
        assert staying.page.inner_text("#status") == "connected"
        third = visit(chromium, web)
        connected_with_microphone(third)
        third.page.wait_for_selector(".latency", timeout=WAIT_MS)
        assert "Hello, third visitor." in third.page.inner_text(".bubble.assistant")
        staying.close()
        third.close()
    assert model.errors == []
    # Each conversation holds its own turns only: the third visitor's request has one user turn.
    assert sum(1 for m in model.requests[-1]["messages"] if m["role"] == "user") == 1
    assert "Bedroom on." not in str(model.requests[-1]["messages"])


def test_a_wrong_token_and_a_lost_server_read_as_one_line(chromium: Any, scripted: Any) -> None:
    model = scripted([])
    with voxagent_web("--base-url", model.base_url, "--token", "open-sesame") as web:
        assert web.url.endswith("/#token=open-sesame")
        bare = web.url.split("#")[0]
        wrong = visit(chromium, web, bare + "#token=guess")
        wrong.page.wait_for_selector("#status.refused", timeout=WAIT_MS)
        refused = wrong.page.inner_text("#error")
        wrong.close()
        right = visit(chromium, web)
        right.page.wait_for_selector("#status.connected", timeout=WAIT_MS)
        code = web.stop()
        right.page.wait_for_selector("#status.unreachable", timeout=WAIT_MS)
        lost = right.page.inner_text("#error")
        # It keeps trying; with nobody listening any more, it says the server is unreachable.
        right.page.wait_for_selector("#error:has-text('is unreachable')", timeout=WAIT_MS)
        unreachable = right.page.inner_text("#error")
        right.close()
    assert code == 130
    assert refused.startswith("the access token is missing or wrong (open the address")
    assert lost.startswith("Lost the connection to the server at 127.0.0.1:")
    assert re.match(
        r"The server at 127\.0\.0\.1:\d+ is unreachable: is voxagent web still running\?",
        unreachable,
    )
    assert "\n" not in refused + lost + unreachable  # one readable line each


# ------------------------------------------------------------------ the real vLLM server


def test_the_page_against_the_real_vllm_server(chromium: Any, vllm_chat_server: Any) -> None:
    with voxagent_web(
        "--base-url",
        vllm_chat_server.base_url,
        "--model",
        vllm_chat_server.model,
        "--tool-choice",
        "set_light",
        "--max-tokens",
        "64",
    ) as web:
        v = visit(chromium, web)
        connected_with_microphone(v)
        page = v.page
        page.wait_for_selector(".latency", timeout=180_000)
        name = page.inner_text(".tool .name")
        state = page.inner_text(".tool .state")
        result = page.inner_text(".tool .result")
        errors = page.inner_text("#error") if page.is_visible("#error") else ""
        v.close()
    # The tiny random model's words are nonsense, but the forced call is a valid set_light.
    assert name == "set_light"
    assert state.startswith("ok"), (state, result)
    assert result.startswith('→ {"room":')
    assert errors == ""
