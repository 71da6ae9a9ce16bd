"""The suite file: what loads, and one clear error for each kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxagent.eval.suite import SuiteError, load_suite
from voxagent.eval.suite_format import suite_schema

TOOLS = {
    "set_light": {"properties": {"room": {}, "on": {}}},
    "set_thermostat": {"properties": {"celsius": {}}},
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return path


def wav(path: Path) -> Path:
    import numpy as np
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(1600, dtype=np.float32), 16000)
    return path


def test_a_suite_loads_with_shorthand_turns_takes_and_tags(tmp_path: Path) -> None:
    wav(tmp_path / "takes" / "alice.wav")
    wav(tmp_path / "takes" / "bob.flac")
    (tmp_path / "takes" / "notes.txt").write_text("not audio")
    wav(tmp_path / "one.wav")
    path = write(
        tmp_path,
        """
[suite]
name = "s"
app = "app.py:agent"
[[cases]]
id = "a"
tags = { lang = "en", speaker = "many" }
language = "en"
audio = "takes"
expect.calls = [{ tool = "set_light", args = { room = "kitchen" } }]
[[cases]]
id = "b"
tags = ["noise"]
[[cases.turns]]
audio = "one.wav"
[[cases.turns]]
text = "and again"
expect.no_call = true
""",
    )
    suite = load_suite(path)
    a, b = suite.cases
    assert suite.app == f"{tmp_path / 'app.py'}:agent"
    assert a.tags == ("lang=en", "speaker=many")
    assert a.take_names == ("alice", "bob")
    assert [p.name for p in a.turns[0].takes] == ["alice.wav", "bob.flac"]
    assert b.take_names == ("",)
    assert b.turns[0].expect is None and b.turns[1].expect is not None
    assert b.turns[1].expect.no_call
    suite.check_tools(TOOLS)
    assert "cases" in suite_schema()["properties"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[[cases]]\nid = 'a'\ntext = 'x'\nexpect.calls = [{ tool = 't' }]\nextra = 1",
         "extra"),
        ("[[cases]]\nid = 'a'\ntext = 'x'\nexpect = { no_call = true, calls = [{ tool = 't' }] }",
         "either calls or no_call"),
        ("[[cases]]\nid = 'a'\ntext = 'x'\nexpect = {}", "expect is empty"),
        ("[[cases]]\nid = 'a'\nexpect.no_call = true", "needs turns"),
        ("[[cases]]\nid = 'a'\ntext = 'x'\nexpect.calls = []", "no_call = true instead"),
        ("[[cases]]\nid = 'a b'\ntext = 'x'", "should match pattern"),
        ("[[cases]]\nid = 'a'\ntext = 'x'\n[[cases]]\nid = 'a'\ntext = 'y'", "two cases"),
        ("[[cases]]\nid = 'a'\naudio = 'missing.wav'", "no such audio file"),
        ("[[cases]]\nid = 'a'\ntext = 'x'\n"
         "expect.calls = [{ tool = 't', args = { x = { regex = '(' } } }]", "invalid regex"),
        ("[perturbations]\nspeed = [1.0]\n[[cases]]\nid = 'a'\ntext = 'x'", "not 1"),
        ("[perturbations]\nnoise = 'nope.wav'\n[[cases]]\nid = 'a'\ntext = 'x'",
         "no such noise file"),
        ("cases = [", "not valid TOML"),
        ("[suite]\nname = 'x'", "cases"),
    ],
)  # fmt: skip
def test_mistakes_are_one_clear_error(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(SuiteError, match=message) as raised:
        load_suite(write(tmp_path, body))
    assert raised.value.hint


def test_take_directories_of_different_sizes_are_refused(tmp_path: Path) -> None:
    wav(tmp_path / "one" / "a.wav")
    wav(tmp_path / "two" / "a.wav")
    wav(tmp_path / "two" / "b.wav")
    path = write(
        tmp_path,
        "[[cases]]\nid = 'a'\n[[cases.turns]]\naudio = 'one'\n[[cases.turns]]\naudio = 'two'\n",
    )
    with pytest.raises(SuiteError, match="different numbers of takes"):
        load_suite(path)


def test_an_empty_take_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match="holds no audio"):
        load_suite(write(tmp_path, "[[cases]]\nid = 'a'\naudio = 'empty'\n"))


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ("expect.calls = [{ tool = 'set_lite' }]", "expects tool 'set_lite'"),
        ("expect.calls = [{ tool = 'set_light', args = { colour = 'red' } }]",
         "takes no argument 'colour'"),
        ("tool_choice = 'nope'\nexpect.no_call = true", "tool_choice 'nope'"),
    ],
)  # fmt: skip
def test_expectations_are_checked_against_the_apps_tools(
    tmp_path: Path, expect: str, message: str
) -> None:
    suite = load_suite(write(tmp_path, f"[[cases]]\nid = 'a'\ntext = 'x'\n{expect}\n"))
    with pytest.raises(SuiteError, match=message):
        suite.check_tools(TOOLS)


def test_missing_and_oversized_files(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "nope.toml")
    big = tmp_path / "big.toml"
    big.write_text("#" * (9 * 1024 * 1024))
    with pytest.raises(SuiteError, match="over the"):
        load_suite(big)


def test_the_published_schema_is_the_one_the_loader_uses() -> None:
    import json

    published = Path(__file__).resolve().parents[3] / "docs" / "eval-suite.schema.json"
    expected = json.dumps(suite_schema(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    assert published.read_text("utf-8") == expected, (
        "docs/eval-suite.schema.json is stale: regenerate it (see docs/evals.md)"
    )
