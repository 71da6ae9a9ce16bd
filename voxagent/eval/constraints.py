"""Argument constraints: how a suite says which values of a tool argument count as right.

In a suite, `args = { room = "kitchen", celsius = { approx = 21, tolerance = 0.5 } }`: a plain
value must be equal; a table with exactly the keys of one constraint is that constraint:

| table | passes when the argument |
|---|---|
| `{ equals = V }` | equals V (the explicit form, for a value that is itself such a table) |
| `{ one_of = [A, B] }` | equals one of them |
| `{ approx = N, tolerance = T }` | is a number within T of N (`rel_tolerance` for a fraction) |
| `{ regex = "..." }` | is a string the pattern matches (`re.search`; anchor it for a full match) |
| `{ text = "..." }` | is a string equal to it ignoring case and runs of whitespace |
| `{ contains = "..." }` | is a string containing it, ignoring case and runs of whitespace |
| `{ subset = {...} }` | is an object holding those items (each value equal) |
| `{ subset = [...] }` | is an array holding those elements |

Equality is JSON equality: 21 equals 21.0, but true never equals 1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MISSING",
    "Constraint",
    "ConstraintError",
    "json_equal",
    "normalize_text",
    "parse_constraint",
]

# Model output is bounded by max_tokens, but a regex is matched only against this much of it,
# so no pattern can take long on a pathological value.
_MAX_MATCHED_CHARS = 10_000


class ConstraintError(ValueError):
    """A constraint table in a suite that cannot be used (its message says why)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The value of an argument the call did not have: it fails every constraint."""


def normalize_text(text: str) -> str:
    """Case-folded, with every run of whitespace one space and none at the ends."""
    return " ".join(text.casefold().split())


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: numbers by value (21 == 21.0), booleans only with booleans."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


@dataclass(frozen=True)
class Constraint:
    """One argument's constraint: `kind` and its operands; `check(value)` says if it passes.

    Attributes:
        kind: "equals", "one_of", "approx", "regex", "text", "contains" or "subset".
        value: The operand (the expected value, the choices, the number, the pattern text...).
        tolerance: Absolute tolerance of "approx".
        rel_tolerance: Relative tolerance of "approx" (a fraction of the expected number).
    """

    kind: str
    value: Any
    tolerance: float = 0.0
    rel_tolerance: float = 0.0

    def check(self, actual: Any) -> bool:
        """Whether `actual` (a JSON value, or `MISSING`) passes."""
        if actual is MISSING:
            return False
        match self.kind:
            case "equals":
                return json_equal(actual, self.value)
            case "one_of":
                return any(json_equal(actual, choice) for choice in self.value)
            case "approx":
                if isinstance(actual, bool) or not isinstance(actual, int | float):
                    return False
                if not math.isfinite(actual):
                    return False
                allowed = max(self.tolerance, self.rel_tolerance * abs(self.value))
                return bool(abs(actual - self.value) <= allowed)
            case "regex":
                return isinstance(actual, str) and bool(
                    _compiled(self.value).search(actual[:_MAX_MATCHED_CHARS])
                )
            case "text":
                return isinstance(actual, str) and normalize_text(actual) == normalize_text(
                    self.value
                )
            case "contains":
                return isinstance(actual, str) and normalize_text(self.value) in normalize_text(
                    actual
                )
            case "subset":
                return _subset(self.value, actual)
        raise AssertionError(f"unknown constraint kind {self.kind!r}")  # pragma: no cover

    def describe(self) -> str:
        """A short text for people: `= 'kitchen'`, `≈ 21 ± 0.5`, `~ /^pasta/`."""
        match self.kind:
            case "equals":
                return f"= {self.value!r}"
            case "one_of":
                return "in " + repr(list(self.value))
            case "approx":
                tol = self.tolerance if self.tolerance else f"{self.rel_tolerance:.0%}"
                return f"≈ {self.value!r} ± {tol}"
            case "regex":
                return f"~ /{self.value}/"
            case "text":
                return f"≈text {self.value!r}"
            case "contains":
                return f"contains {self.value!r}"
            case _:
                return f"⊇ {self.value!r}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (as in a suite file)."""
        if self.kind == "approx":
            return {
                "approx": self.value,
                "tolerance": self.tolerance,
                "rel_tolerance": self.rel_tolerance,
            }
        return {self.kind: self.value}


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and json_equal(actual[key], value) for key, value in expected.items()
        )
    if not isinstance(actual, list | tuple):
        return False
    return all(any(json_equal(item, have) for have in actual) for item in expected)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern)
    return found


_FORMS: dict[frozenset[str], str] = {
    frozenset({"equals"}): "equals",
    frozenset({"one_of"}): "one_of",
    frozenset({"regex"}): "regex",
    frozenset({"text"}): "text",
    frozenset({"contains"}): "contains",
    frozenset({"subset"}): "subset",
}
_APPROX_KEYS = {"approx", "tolerance", "rel_tolerance"}


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConstraintError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def parse_constraint(raw: Any) -> Constraint:
    """The constraint a suite's value stands for (see the module's table).

    Raises:
        ConstraintError: A constraint table with bad operands (an invalid regex, a negative
            tolerance, `one_of` not a list...).
    """
    if not isinstance(raw, Mapping):
        return Constraint("equals", raw)
    keys = frozenset(raw)
    if "approx" in keys and keys <= _APPROX_KEYS:
        tolerance = _number(raw.get("tolerance", 0.0), "tolerance")
        rel = _number(raw.get("rel_tolerance", 0.0), "rel_tolerance")
        if tolerance < 0 or rel < 0:
            raise ConstraintError("tolerance and rel_tolerance must not be negative")
        if not tolerance and not rel:
            raise ConstraintError(
                "approx needs a tolerance (absolute) or rel_tolerance (a fraction), e.g. "
                "{ approx = 21, tolerance = 0.5 }"
            )
        return Constraint("approx", _number(raw["approx"], "approx"), tolerance, rel)
    kind = _FORMS.get(keys)
    if kind is None:
        return Constraint("equals", dict(raw))  # a table that is no constraint: an exact object
    value = raw[kind]
    if kind == "one_of" and not (isinstance(value, list) and value):
        raise ConstraintError(f"one_of needs a non-empty array, not {value!r}")
    if kind in ("regex", "text", "contains") and not isinstance(value, str):
        raise ConstraintError(f"{kind} needs a string, not {value!r}")
    if kind == "regex":
        try:
            _compiled(value)
        except re.error as exc:
            raise ConstraintError(f"invalid regex {value!r}: {exc}") from None
    if kind == "subset" and not isinstance(value, Mapping | list):
        raise ConstraintError(f"subset needs a table or an array, not {value!r}")
    return Constraint(kind, value)
