"""Scoring rules that the end-to-end suite does not reach: duplicate calls, errors, pairing."""

from __future__ import annotations

from typing import Any

from voxagent.eval.outcomes import ActualCall, TurnOutcome
from voxagent.eval.scoring import score_column, score_turn
from voxagent.eval.suite_format import ExpectSpec


def outcome(expect: dict[str, Any] | None, calls: list[ActualCall], **fields: Any) -> TurnOutcome:
    return TurnOutcome(
        run_id="r", case_id="r", column="audio", turn=0, take="", variant="clean", tags=(),
        audio=None, text="x", expect=ExpectSpec.model_validate(expect) if expect else None,
        calls=tuple(calls), **fields,
    )  # fmt: skip


def light(room: str, on: bool = True) -> ActualCall:
    return ActualCall("set_light", {"room": room, "on": on})


def test_calls_of_one_tool_are_paired_to_pass_the_most_argument_checks() -> None:
    expect = {
        "calls": [
            {"tool": "set_light", "args": {"room": "kitchen"}},
            {"tool": "set_light", "args": {"room": "bedroom"}},
        ]
    }
    # In the other order: a pairing by position would fail both room checks.
    score = score_turn(outcome(expect, [light("bedroom"), light("kitchen")]))
    assert score is not None and score.correct
    assert score.tools == {"set_light": [2, 0, 0]}
    assert score.arguments == {("set_light", "room"): [2, 2]}


def test_a_repeated_call_is_one_true_and_one_false_positive() -> None:
    expect = {"calls": [{"tool": "set_light", "args": {"room": "kitchen"}}]}
    score = score_turn(outcome(expect, [light("kitchen"), light("kitchen")]))
    assert score is not None and not score.correct
    assert score.tools == {"set_light": [1, 1, 0]}
    assert score.confusion == {("set_light", "set_light"): 1, ("(no call)", "set_light"): 1}


def test_invalid_arguments_and_a_missing_argument_fail_their_checks() -> None:
    expect = {"calls": [{"tool": "set_light", "args": {"room": "kitchen", "on": True}}]}
    bad = ActualCall("set_light", {"room": "kitchen"}, valid=False)
    column = score_column([outcome(expect, [bad])], tools=["set_light"])
    assert column["arguments"]["set_light"]["on"] == {"correct": 0, "total": 1, "accuracy": 0.0}
    assert column["invalid_arguments"] == 1
    assert column["tools"]["set_light"]["f1"] == 1.0  # the right tool, wrong arguments


def test_a_turn_that_failed_to_run_scores_as_no_call_and_is_listed() -> None:
    expect = {"calls": [{"tool": "set_light"}], "answer_contains": ["ok"]}
    failed = outcome(expect, [], error="the server refused")
    column = score_column([failed], tools=["set_light"])
    assert column["errors"] == 1 and column["turns_run"] == 0
    assert column["tools"]["set_light"]["fn"] == 1
    assert column["answers"] == {"correct": 0, "total": 1, "value": 0.0}
    assert column["latency_ms"]["total"]["n"] == 0
    score = score_turn(failed)
    assert score is not None and score.reasons[0] == "error: the server refused"


def test_context_turns_count_for_latency_and_tokens_but_are_not_scored() -> None:
    context = outcome(None, [light("x")], timings={"total": 0.5}, usage={"total_tokens": 10})
    scored = outcome({"no_call": True}, [], timings={"total": 1.5}, usage={"total_tokens": 30})
    column = score_column([context, scored])
    assert column["turns"] == 1 and column["turns_run"] == 2
    assert column["latency_ms"]["total"] == {
        "n": 2, "p50": 1000.0, "p95": 1450.0, "values": [500.0, 1500.0],
    }  # fmt: skip
    assert column["tokens"]["per_turn"] == 20.0
    assert column["no_call"]["value"] == 1.0
    assert column["tools"] == {}


def test_a_no_call_turn_that_failed_to_run_fails_its_check() -> None:
    failed = outcome({"no_call": True}, [], error="timed out")
    column = score_column([failed])
    assert column["no_call"] == {"correct": 0, "total": 1, "value": 0.0}
    assert column["confusion"]["matrix"] == {"(no call)": {"(no call)": 0}}
    assert column["turn_accuracy"]["value"] == 0.0
