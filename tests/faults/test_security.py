"""Security: no code execution from model output, confirm=True holds, secrets stay secret,
saved conversations are validated, the managed server binds to loopback."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from voxagent import Agent, ModelSettings, tool
from voxagent.conversation import Conversation
from voxagent.errors import ConversationError, ServerError, VoxagentError
from voxagent.events import Event
from voxagent.testing import Reply, ScriptedCall, ScriptedServer

from .conftest import assert_next_turn_works

SOURCE = Path(__file__).resolve().parents[2] / "voxagent"
SECRET = "sk-test-5ecr3t-DO-NOT-LEAK-0123456789"
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "breakpoint"}
FORBIDDEN_MODULES = {"pickle", "marshal", "shelve", "dill", "cloudpickle"}


# ------------------------------------------------------------ no eval/exec/shell


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        where = f"{path.relative_to(SOURCE.parent)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"{where} calls {func.id}()")
            if isinstance(func, ast.Attribute) and func.attr in {"system", "popen", "getoutput"}:
                found.append(f"{where} calls .{func.attr}()")
            for keyword in node.keywords:
                if keyword.arg == "shell" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    found.append(f"{where} passes shell=")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [
                f"{where} imports {n}"
                for n in names
                if (n or "").split(".")[0] in FORBIDDEN_MODULES
            ]
    return found


def test_the_library_source_has_no_eval_exec_shell_or_pickle() -> None:
    files = sorted(SOURCE.rglob("*.py"))
    assert len(files) > 30  # the scan really looked at the package
    assert [v for path in files for v in _violations(path)] == []


def test_the_source_scan_catches_what_it_looks_for(tmp_path: Path) -> None:
    bad = SOURCE / "_h8_probe_never_committed.py"
    bad.write_text("import pickle\neval(x)\nsubprocess.run(c, shell=True)\nos.system(c)\n")
    try:
        assert len(_violations(bad)) == 4
    finally:
        bad.unlink()


PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "$(touch {marker})",
    "`touch {marker}`; touch {marker}",
    "{{{{ ''.__class__ }}}} ; open('{marker}', 'w')",
]


@pytest.mark.anyio
@pytest.mark.parametrize("payload", PAYLOADS)
async def test_model_output_is_data_never_code(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "pwned"
    text = payload.format(marker=marker)
    received: list[str] = []

    @tool
    def note(body: str) -> str:
        """Store a note.

        Args:
            body: The note.
        """
        received.append(body)
        return "saved"

    script = [
        Reply.tool_calls(("note", {"body": text}), ScriptedCall(text, {"body": text})),
        Reply.text(text),
    ]
    async with ScriptedServer(script) as server:
        async with Agent(base_url=server.base_url, tools=[note]) as agent:
            turn = await agent.ask(text=text)
            await assert_next_turn_works(agent, server)
    assert received == [text]  # reached the tool verbatim, as a validated string
    assert turn.text == text
    assert not marker.exists()


# ------------------------------------------------------------ confirm=True


def _unlock_tools(ran: list[str]) -> list[Any]:
    @tool(confirm=True)
    def unlock(door: str = "front") -> str:
        """Unlock a door.

        Args:
            door: Which door.
        """
        ran.append(door)
        return "unlocked"

    @tool
    def status() -> str:
        """Say how things are."""
        return "fine"

    return [unlock, status]


BYPASSES: dict[str, list[ScriptedCall]] = {
    "upper case": [ScriptedCall("UNLOCK", {})],
    "title case": [ScriptedCall("Unlock", {})],
    "leading space": [ScriptedCall(" unlock", {})],
    "trailing newline": [ScriptedCall("unlock\n", {})],
    "zero width": [ScriptedCall("unlock\u200b", {})],
    "namespaced": [ScriptedCall("functions.unlock", {})],
    "extra confirm argument": [ScriptedCall("unlock", {"door": "back", "confirm": False})],
    "approved argument": [ScriptedCall("unlock", {"door": "back", "approved": True})],
    "inside parallel calls": [
        ScriptedCall("status", {}),
        ScriptedCall("unlock", {"door": "back"}),
        ScriptedCall("status", {}),
        ScriptedCall("unlock", {"door": "side"}),
    ],
}


@pytest.mark.anyio
@pytest.mark.parametrize("calls", BYPASSES.values(), ids=list(BYPASSES))
@pytest.mark.parametrize("stream", [True, False])
async def test_confirm_true_cannot_be_bypassed_by_the_model(
    calls: list[ScriptedCall], stream: bool
) -> None:
    ran: list[str] = []
    async with ScriptedServer([Reply.tool_calls(*calls), Reply.text("ok")]) as server:
        async with Agent(
            base_url=server.base_url,
            tools=_unlock_tools(ran),
            approval="never",
            settings=ModelSettings(stream=stream),
        ) as agent:
            turn = await agent.ask(text="let me in")
            await assert_next_turn_works(agent, server)
    assert ran == []
    for record in turn.tool_calls:
        if record.name != "status":
            assert record.result.error_kind in {"denied", "unknown_tool", "invalid_arguments"}


# ------------------------------------------------------------ secrets


@pytest.mark.anyio
async def test_secrets_never_reach_logs_events_saves_errors_or_reprs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, wav: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    texts: list[str] = []

    @tool
    def explode() -> str:
        """Fail."""
        raise RuntimeError("tool broke")

    script = [
        Reply.tool_call("explode", {}),
        Reply.text("answer"),
        Reply.error(500, "internal error"),
        Reply.error(401, "bad key"),
        Reply.text("broken", fault="bad_chunk_json", fault_after=1),
    ]
    async with ScriptedServer(script, api_key=SECRET) as server:
        agent: Agent[None] = Agent(base_url=server.base_url, api_key=SECRET, tools=[explode])
        async with agent:
            await agent.ask(audio=wav, on_event=events.append)
            for _ in range(3):
                with pytest.raises(VoxagentError) as caught:
                    await agent.ask(text="again", on_event=events.append)
                exc = caught.value
                texts += [str(exc), repr(exc), exc.hint or "", repr(exc.__cause__)]
            texts += [repr(agent), repr(agent.client), repr(agent.conversation)]
            agent.conversation.save(tmp_path / "chat.json")
    assert any(h.get("authorization") == f"Bearer {SECRET}" for h in server.headers)
    texts += [(tmp_path / "chat.json").read_text("utf-8"), caplog.text]
    texts += [json.dumps([repr(e) for e in events])]
    assert caplog.records  # the check looked at real debug logs
    assert [t for t in texts if SECRET in t] == []


@pytest.mark.anyio
async def test_a_server_error_echoing_the_key_is_redacted() -> None:
    echo = Reply.error(500, f"upstream refused header 'Authorization: Bearer {SECRET}'")
    async with ScriptedServer([echo], api_key=SECRET) as server:
        async with Agent(base_url=server.base_url, api_key=SECRET) as agent:
            with pytest.raises(ServerError) as caught:
                await agent.ask(text="hi")
    assert SECRET not in str(caught.value)


@pytest.mark.anyio
async def test_audio_and_transcripts_are_not_logged_even_at_debug(
    caplog: pytest.LogCaptureFixture, wav: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    async with ScriptedServer(
        default=Reply.text("the secret words"), transcripts=[Reply.text("spoken phrase")]
    ) as server:
        async with Agent(base_url=server.base_url) as agent:
            await agent.ask(audio=wav)
            transcript = await agent.client.transcribe(agent.conversation.turns[0].audio)  # type: ignore[attr-defined]
            await agent.ask(text="typed private text")
    assert transcript == "spoken phrase"
    audio_b64 = agent.conversation.turns[0].audio.to_base64()  # type: ignore[attr-defined]
    assert caplog.records
    for needle in (audio_b64[:64], audio_b64[-64:], "spoken phrase", "typed private text"):
        assert needle not in caplog.text


# ------------------------------------------------------------ saved conversations


def _saved(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    conv = Conversation("Lights.")
    conv.add_user(text="hello")
    conv.add_assistant("hi")
    path = tmp_path / "chat.json"
    conv.save(path)
    return path, json.loads(path.read_text("utf-8"))


TAMPERS: dict[str, Any] = {
    "truncated": lambda text, data: text[: len(text) // 2],
    "not json": lambda text, data: "<html>",
    "empty": lambda text, data: "",
    "binary": lambda text, data: "\x00\xff\x00",
    "wrong format name": lambda text, data: json.dumps({**data, "format": "pickle"}),
    "future version": lambda text, data: json.dumps({**data, "version": 999}),
    "turns not a list": lambda text, data: json.dumps({**data, "turns": "rm -rf /"}),
    "unknown role": lambda text, data: json.dumps(
        {**data, "turns": [{**data["turns"][0], "role": "__import__('os')"}]}
    ),
    "orphan tool result": lambda text, data: json.dumps(
        {
            **data,
            "turns": [
                *data["turns"],
                {"role": "tool", "call_id": "abcdefghi", "name": "x", "content": "y"},
            ],
        }
    ),
    "bad audio": lambda text, data: json.dumps(
        {
            **data,
            "turns": [
                {
                    **data["turns"][0],
                    "audio": {"data": "!!notbase64!!", "format": "exe", "duration_s": -1},
                }
            ],
        }
    ),
    "top level list": lambda text, data: "[]",
    "deeply nested": lambda text, data: "[" * 100000 + "]" * 100000,
}


@pytest.mark.parametrize("tamper", TAMPERS.values(), ids=list(TAMPERS))
def test_a_tampered_saved_conversation_gives_a_clear_conversation_error(
    tmp_path: Path, tamper: Any
) -> None:
    path, data = _saved(tmp_path)
    path.write_text(tamper(path.read_text("utf-8"), data), "utf-8")
    with pytest.raises(ConversationError) as caught:
        Conversation.load(path)
    assert caught.value.message and "\n" not in caught.value.message
    assert str(path.name) in str(caught.value) or caught.value.hint


# ------------------------------------------------------------ managed server binding


def test_the_managed_vllm_server_binds_to_loopback_by_default() -> None:
    import inspect

    from voxagent.serve.command import vllm_command
    from voxagent.serve.server import VLLMServer

    command = vllm_command(
        "mistralai/Voxtral-Mini-3B-2507", port=8123, cpu=True, vllm_executable="vllm"
    )
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command.count("--host") == 1
    assert inspect.signature(VLLMServer).parameters["host"].default == "127.0.0.1"
    assert VLLMServer("m", port=8123).host == "127.0.0.1"
    exposed = vllm_command("m", port=8123, host="0.0.0.0", cpu=True, vllm_executable="vllm")
    assert exposed[exposed.index("--host") + 1] == "0.0.0.0"  # only when told


def test_voxagent_serve_defaults_to_loopback() -> None:
    from voxagent.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"
