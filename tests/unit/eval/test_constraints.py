"""Argument constraints: each form passes and fails where the format says."""

from __future__ import annotations

from typing import Any

import pytest

from voxagent.eval.constraints import MISSING, ConstraintError, json_equal, parse_constraint


@pytest.mark.parametrize(
    ("raw", "value", "ok"),
    [
        ("kitchen", "kitchen", True),
        ("kitchen", "Kitchen", False),
        (21, 21.0, True),
        (1, True, False),
        (True, 1, False),
        ({"equals": {"regex": "x"}}, {"regex": "x"}, True),
        ({"a": 1}, {"a": 1.0}, True),  # a table that is no constraint: an exact object
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"one_of": ["kitchen", "bedroom"]}, "bedroom", True),
        ({"one_of": ["kitchen", "bedroom"]}, "bathroom", False),
        ({"approx": 21, "tolerance": 0.5}, 21.5, True),
        ({"approx": 21, "tolerance": 0.5}, 21.51, False),
        ({"approx": 21, "tolerance": 0.5}, True, False),
        ({"approx": 21, "tolerance": 0.5}, "21", False),
        ({"approx": 100, "rel_tolerance": 0.1}, 109, True),
        ({"approx": 100, "rel_tolerance": 0.1}, 111, False),
        ({"approx": 1, "tolerance": 1}, float("nan"), False),
        ({"regex": "^pasta"}, "pasta timer", True),
        ({"regex": "^pasta"}, "a pasta timer", False),
        ({"regex": "x"}, 5, False),
        ({"text": "  Pasta   TIMER "}, "pasta timer", True),
        ({"text": "pasta timer"}, "pasta timers", False),
        ({"contains": "PASTA"}, "my  pasta timer", True),
        ({"contains": "rice"}, "my pasta timer", False),
        ({"subset": {"room": "kitchen"}}, {"room": "kitchen", "on": True}, True),
        ({"subset": {"room": "kitchen"}}, {"room": "bedroom"}, False),
        ({"subset": ["a", "b"]}, ["b", "c", "a"], True),
        ({"subset": ["a", "d"]}, ["b", "c", "a"], False),
        ({"subset": ["a"]}, "a", False),
    ],
)
def test_constraint_checks(raw: Any, value: Any, ok: bool) -> None:
    assert parse_constraint(raw).check(value) is ok


@pytest.mark.parametrize(
    "raw", ["x", 3, {"one_of": ["x"]}, {"approx": 1, "tolerance": 1}, {"regex": "."}]
)
def test_a_missing_argument_fails_every_constraint(raw: Any) -> None:
    assert parse_constraint(raw).check(MISSING) is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"regex": "("}, "invalid regex"),
        ({"approx": 21}, "needs a tolerance"),
        ({"approx": 21, "tolerance": -1}, "must not be negative"),
        ({"approx": "21", "tolerance": 1}, "finite number"),
        ({"one_of": []}, "non-empty array"),
        ({"text": 3}, "needs a string"),
        ({"subset": 3}, "table or an array"),
    ],
)
def test_bad_constraints_are_refused(raw: Any, message: str) -> None:
    with pytest.raises(ConstraintError, match=message):
        parse_constraint(raw)


def test_json_equality_is_recursive_and_keeps_booleans_apart() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal({"a": [1, True]}, {"a": [1, 1]})
    assert not json_equal([1, 2], [1, 2, 3])
    assert not json_equal("1", 1)
