"""Scores of a column of turn outcomes: pure functions, no I/O.

Definitions (docs/evals.md says the same):
- A scored turn's expected calls and the model's calls are matched by tool name, as multisets:
  per tool, `min(expected, called)` calls are true positives, the extra calls false positives,
  the missing ones false negatives. Precision = TP/(TP+FP), recall = TP/(TP+FN) (None where the
  denominator is 0), F1 = 2TP/(2TP+FP+FN) (their harmonic mean; 0 for a tool expected but never
  called; None only when the tool was neither expected nor called).
- Among several calls of one tool, expected and actual calls are paired to pass the most
  argument checks. Argument accuracy counts, over matched pairs, the constrained arguments that
  pass, per tool and argument.
- Confusion: matched calls count on the diagonal; then the turn's unmatched expected and
  unmatched actual calls are paired in order (expected X, called Y instead), and what is left
  pairs with "(no call)". A no-call turn with no call counts at ("(no call)", "(no call)").
- A turn is correct when its calls match exactly (no missing, no extra, every argument check
  passed), or no call was made where none was expected, and every answer check passed.
- A turn that failed to run (an error) scores as wrong everywhere: its expected calls as missed,
  its no-call and answer checks as failed.
- Latency percentiles are linear interpolations between the sorted values (numpy's default).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voxagent.eval.constraints import MISSING, normalize_text
from voxagent.eval.outcomes import ActualCall, TurnOutcome
from voxagent.eval.suite_format import ExpectedCall

__all__ = [
    "NO_CALL",
    "STAGES",
    "TurnScore",
    "failures",
    "score_column",
    "score_outcomes",
    "score_turn",
]

NO_CALL = "(no call)"
STAGES = ("endpointing", "transcribe", "first_token", "tool_start", "total")
_MAX_PERMUTATIONS = 5040  # 7!: beyond it, pairs are chosen greedily


@dataclass
class TurnScore:
    """What one scored turn contributes.

    Attributes:
        tools: tool -> [tp, fp, fn].
        arguments: (tool, argument) -> [correct, total].
        confusion: (expected, actual) -> count.
        no_call: (correct, total) of the no-call check, when the turn expects no call.
        answers: (passed, total) of its answer checks.
        correct: Whether the turn is right in every respect.
        reasons: What was wrong, for people.
    """

    tools: dict[str, list[int]] = field(default_factory=dict)
    arguments: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    confusion: dict[tuple[str, str], int] = field(default_factory=dict)
    no_call: tuple[int, int] | None = None
    answers: tuple[int, int] = (0, 0)
    correct: bool = True
    reasons: list[str] = field(default_factory=list)


def _arg_passes(expected: ExpectedCall, actual: ActualCall) -> list[tuple[str, bool]]:
    args = actual.arguments if isinstance(actual.arguments, dict) else {}
    return [
        (name, constraint.check(args.get(name, MISSING)))
        for name, constraint in expected.constraints().items()
    ]


def _pairs(expected: Sequence[int], actual: Sequence[int], score: Any) -> list[tuple[int, int]]:
    """Pair expected with actual calls (indices) to pass the most argument checks."""
    k = min(len(expected), len(actual))
    if k == 0:
        return []
    longer, shorter = (actual, expected) if len(actual) >= len(expected) else (expected, actual)
    count = math.perm(len(longer), k)
    if count <= _MAX_PERMUTATIONS:
        best: list[tuple[int, int]] = []
        best_score = -1
        for chosen in itertools.permutations(longer, k):
            pairs = [
                (s, c) if shorter is expected else (c, s)
                for s, c in zip(shorter, chosen, strict=True)
            ]
            total = sum(score(e, a) for e, a in pairs)
            if total > best_score:
                best, best_score = pairs, total
        return best
    free = list(actual)
    pairs = []
    for e in expected[:k]:
        pick = max(free, key=lambda a: score(e, a))
        free.remove(pick)
        pairs.append((e, pick))
    return pairs


def _show(call: ActualCall) -> str:
    import json

    args = call.arguments
    text = json.dumps(args, ensure_ascii=False, default=str) if not isinstance(args, str) else args
    return f"{call.name}({text[:200]})"


def score_turn(outcome: TurnOutcome) -> TurnScore | None:
    """The turn's contribution to the scores; None for an unscored (context) turn."""
    expect = outcome.expect
    if expect is None:
        return None
    score = TurnScore()
    actual = list(outcome.calls) if outcome.error is None else []
    if outcome.error is not None:
        score.correct = False
        score.reasons.append(f"error: {outcome.error}")
    if expect.scores_calls:
        expected = list(expect.calls or [])
        names = sorted({c.tool for c in expected} | {c.name for c in actual})
        unmatched_e: set[int] = set(range(len(expected)))
        unmatched_a: set[int] = set(range(len(actual)))
        for name in names:
            e_idx = [i for i, c in enumerate(expected) if c.tool == name]
            a_idx = [i for i, c in enumerate(actual) if c.name == name]

            def passes(e: int, a: int) -> int:
                return sum(ok for _, ok in _arg_passes(expected[e], actual[a]))

            pairs = _pairs(e_idx, a_idx, passes)
            tp = len(pairs)
            counts = score.tools.setdefault(name, [0, 0, 0])
            counts[0] += tp
            counts[1] += len(a_idx) - tp
            counts[2] += len(e_idx) - tp
            if tp:
                score.confusion[(name, name)] = score.confusion.get((name, name), 0) + tp
            for e, a in pairs:
                unmatched_e.discard(e)
                unmatched_a.discard(a)
                for arg, ok in _arg_passes(expected[e], actual[a]):
                    cell = score.arguments.setdefault((name, arg), [0, 0])
                    cell[0] += ok
                    cell[1] += 1
                    if not ok:
                        score.correct = False
                        args = actual[a].arguments
                        got = args.get(arg, MISSING) if isinstance(args, dict) else MISSING
                        shown = "missing" if got is MISSING else repr(got)
                        rule = expected[e].constraints()[arg].describe()
                        score.reasons.append(f"{name}.{arg}: expected {rule}, got {shown}")
        left_e = [expected[i].tool for i in sorted(unmatched_e)]
        left_a = [actual[i] for i in sorted(unmatched_a)]
        for i in range(max(len(left_e), len(left_a))):
            want = left_e[i] if i < len(left_e) else NO_CALL
            got = left_a[i].name if i < len(left_a) else NO_CALL
            score.confusion[(want, got)] = score.confusion.get((want, got), 0) + 1
            score.correct = False
            if want == NO_CALL:
                score.reasons.append(f"unexpected call {_show(left_a[i])}")
            elif got == NO_CALL:
                score.reasons.append(f"expected {want}, got no call")
            else:
                score.reasons.append(f"expected {want}, got {_show(left_a[i])}")
        failed = outcome.error is not None
        if not expected and not actual and not failed:
            score.confusion[(NO_CALL, NO_CALL)] = 1
        if expect.no_call:
            # A turn that never ran did not rightly refrain from calling: it fails the check.
            score.no_call = (int(not actual and not failed), 1)
    answer = normalize_text(outcome.answer) if outcome.error is None else None
    passed = total = 0
    for text in expect.answer_contains:
        total += 1
        ok = answer is not None and normalize_text(text) in answer
        passed += ok
        if not ok:
            score.correct = False
            score.reasons.append(f"answer lacks {text!r}")
    for text in expect.answer_not_contains:
        total += 1
        ok = answer is not None and normalize_text(text) not in answer
        passed += ok
        if not ok:
            score.correct = False
            score.reasons.append(f"answer contains {text!r}")
    score.answers = (passed, total)
    return score


def _ratio(correct: int, total: int) -> dict[str, Any]:
    return {"correct": correct, "total": total, "value": correct / total if total else None}


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    # 2TP / (2TP + FP + FN): the harmonic mean of precision and recall where both exist, and
    # 0 (not undefined) for a tool that was expected but never called, so a gate catches it.
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "expected": tp + fn,
        "called": tp + fp,
    }


def _percentiles(values: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values]
    if not ms:
        return {"n": 0, "p50": None, "p95": None, "values": []}
    p50, p95 = np.percentile(np.asarray(ms), [50, 95])
    return {"n": len(ms), "p50": float(p50), "p95": float(p95), "values": [round(v, 3) for v in ms]}


def score_column(outcomes: Iterable[TurnOutcome], tools: Sequence[str] = ()) -> dict[str, Any]:
    """Every score of one column's outcomes (see the module's definitions).

    Args:
        outcomes: The column's turn outcomes.
        tools: Tools to list even when nothing expected or called them (the app's).
    """
    outcomes = list(outcomes)
    counts: dict[str, list[int]] = {name: [0, 0, 0] for name in tools}
    arguments: dict[tuple[str, str], list[int]] = {}
    confusion: dict[tuple[str, str], int] = {}
    no_call = [0, 0]
    answers = [0, 0]
    correct = scored = errors = invalid = 0
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES}
    tokens = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    ran = 0
    for outcome in outcomes:
        if outcome.error is not None:
            errors += 1
        else:
            ran += 1
            invalid += sum(not c.valid for c in outcome.calls)
            for stage in STAGES:
                if stage in outcome.timings:
                    stages[stage].append(outcome.timings[stage])
            for kind in tokens:
                tokens[kind] += outcome.usage.get(kind, 0)
        turn = score_turn(outcome)
        if turn is None:
            continue
        scored += 1
        correct += turn.correct
        for name, (tp, fp, fn) in turn.tools.items():
            cell = counts.setdefault(name, [0, 0, 0])
            cell[0] += tp
            cell[1] += fp
            cell[2] += fn
        for pair_key, (ok, total) in turn.arguments.items():
            tally = arguments.setdefault(pair_key, [0, 0])
            tally[0] += ok
            tally[1] += total
        for pair, n in turn.confusion.items():
            confusion[pair] = confusion.get(pair, 0) + n
        if turn.no_call is not None:
            no_call[0] += turn.no_call[0]
            no_call[1] += turn.no_call[1]
        answers[0] += turn.answers[0]
        answers[1] += turn.answers[1]
    per_tool = {name: _prf(*counts[name]) for name in sorted(counts)}
    defined = [t["f1"] for t in per_tool.values() if t["f1"] is not None]
    by_tool: dict[str, dict[str, Any]] = {}
    for (tool_name, arg_name), (ok, total) in sorted(arguments.items()):
        by_tool.setdefault(tool_name, {})[arg_name] = {
            "correct": ok,
            "total": total,
            "accuracy": ok / total if total else None,
        }
    labels = sorted({a for a, _ in confusion} | {b for _, b in confusion} - {NO_CALL})
    labels = [label for label in labels if label != NO_CALL] + [NO_CALL]
    matrix = {want: {got: confusion.get((want, got), 0) for got in labels} for want in labels}
    return {
        "turns": scored,
        "turns_run": ran,
        "errors": errors,
        "turn_accuracy": _ratio(correct, scored),
        "tools": per_tool,
        "micro": _prf(*(sum(c[i] for c in counts.values()) for i in range(3))),
        "macro_f1": sum(defined) / len(defined) if defined else None,
        "arguments": by_tool,
        "argument_accuracy": _ratio(
            sum(ok for ok, _ in arguments.values()), sum(t for _, t in arguments.values())
        ),
        "invalid_arguments": invalid,
        "confusion": {"labels": labels, "matrix": matrix},
        "no_call": _ratio(*no_call),
        "answers": _ratio(*answers),
        "latency_ms": {stage: _percentiles(values) for stage, values in stages.items()},
        "tokens": {**tokens, "per_turn": tokens["total_tokens"] / ran if ran else None},
    }


def failures(outcomes: Iterable[TurnOutcome]) -> list[dict[str, Any]]:
    """Every scored turn that was not right: where to listen, what was expected, what came."""
    out = []
    for outcome in outcomes:
        turn = score_turn(outcome)
        if turn is None or turn.correct:
            continue
        expect = outcome.expect
        assert expect is not None
        out.append(
            {
                "run_id": outcome.run_id,
                "column": outcome.column,
                "turn": outcome.turn + 1,
                "audio": outcome.audio,
                "text": outcome.text,
                "transcript": outcome.transcript,
                "expected": expect.model_dump(exclude_defaults=True),
                "actual": [c.to_dict() for c in outcome.calls],
                "answer": outcome.answer,
                "reasons": turn.reasons,
            }
        )
    return out


def score_outcomes(
    outcomes: Sequence[TurnOutcome], columns: Sequence[str], tools: Sequence[str] = ()
) -> dict[str, Any]:
    """Scores per column, the same broken down by tag, and the failures."""
    scores = {c: score_column([o for o in outcomes if o.column == c], tools) for c in columns}
    tags = sorted({tag for o in outcomes for tag in o.tags})
    by_tag = {
        tag: {
            c: score_column([o for o in outcomes if o.column == c and tag in o.tags], tools)
            for c in columns
        }
        for tag in tags
    }
    return {"scores": scores, "by_tag": by_tag, "failures": failures(outcomes)}
