"""The suite file: cases of spoken (or typed) turns and what the agent should do with each.

A suite is TOML, validated with the pydantic models of `voxagent.eval.suite_format` (extra keys
are refused, so a typo is an error, not a silently ignored expectation). `load_suite(path)` reads
and checks it: every audio file or take directory exists, ids are unique, constraints are well
formed. `Suite.check_tools` then checks the expectations against the app's tools. The format is
documented in docs/evals.md; the JSON Schema of the file is `suite_schema()`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from voxagent.errors import ConfigurationError

# The file's private models are this module's to use: it turns them into a `Suite`.
from voxagent.eval.suite_format import ExpectSpec, PerturbationSpec, _CaseSpec, _SuiteFile

__all__ = ["AUDIO_SUFFIXES", "Case", "Suite", "SuiteError", "Turn", "load_suite"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MAX_SUITE_BYTES = 8 * 1024 * 1024


class SuiteError(ConfigurationError):
    """A suite file that cannot be used: unreadable, not TOML, or not what the format allows."""


@dataclass(frozen=True)
class Turn:
    """One turn of a case, its audio resolved.

    Attributes:
        index: Position in the case (0-based).
        takes: The audio takes (one file, or every file of a directory, sorted by name); empty
            for a text-only turn.
        text: Typed text (alone, or sent with the audio).
        expect: What the turn should produce; None for an unscored context turn.
        tool_choice: A tool_choice for this turn's first request (else the suite's).
    """

    index: int
    takes: tuple[Path, ...]
    text: str | None
    expect: ExpectSpec | None
    tool_choice: str | None


@dataclass(frozen=True)
class Case:
    """One case: turns that share one conversation, run once per take.

    Attributes:
        id: Unique in the suite.
        tags: "lang=en", "noise", ...: scores are broken down by each.
        language: ISO 639-1 code for the cascade's transcription (None: detected).
        turns: The turns, in order.
        take_names: One name per take (the file stems of the take directory; "" for a case
            with a single take).
    """

    id: str
    tags: tuple[str, ...]
    language: str | None
    turns: tuple[Turn, ...]
    take_names: tuple[str, ...]


@dataclass(frozen=True)
class Suite:
    """A loaded, checked suite.

    Attributes:
        path: The suite file.
        name: Its name.
        app: The app named in the file, resolved against the file's folder (None if none).
        seed: Seed for sampling and for perturbations.
        temperature: Sampling temperature (0 by default: repeatable runs).
        max_tokens: Cap on each answer's tokens (None: the app's).
        concurrency: Cases run at once.
        tool_choice: tool_choice for every turn's first request (None: the app's).
        dry_results: Canned results of recorders under `--dry-tools`, by tool ("*": any).
        perturbations: Audio variants to run besides the clean audio.
        cases: The cases.
    """

    path: Path
    name: str
    app: str | None
    seed: int
    temperature: float
    max_tokens: int | None
    concurrency: int
    tool_choice: str | None
    dry_results: dict[str, str]
    perturbations: PerturbationSpec
    cases: tuple[Case, ...] = field(default=())

    def check_tools(self, tools: dict[str, dict[str, Any]]) -> None:
        """Check every expectation against the app's tools (name -> JSON Schema parameters).

        Raises:
            SuiteError: A case expects a tool the app lacks, or an argument it does not take,
                or names such a tool as tool_choice.
        """
        offered = ", ".join(tools) or "none"
        for case in self.cases:
            for turn in case.turns:
                choice = turn.tool_choice or self.tool_choice
                if choice and choice not in ("auto", "none", "required") and choice not in tools:
                    raise SuiteError(
                        f"case {case.id!r}: tool_choice {choice!r} is not a tool of the app",
                        hint=f"the app's tools: {offered}",
                    )
                calls = turn.expect.calls if turn.expect is not None else None
                for call in calls or ():
                    schema = tools.get(call.tool)
                    if schema is None:
                        raise SuiteError(
                            f"case {case.id!r} expects tool {call.tool!r}, which the app "
                            "does not have",
                            hint=f"the app's tools: {offered}",
                        )
                    known = schema.get("properties", {})
                    for arg in call.args:
                        if arg not in known:
                            raise SuiteError(
                                f"case {case.id!r}: tool {call.tool!r} takes no argument {arg!r}",
                                hint=f"its arguments: {', '.join(known) or 'none'}",
                            )


def _takes(raw: str, base: Path, where: str) -> tuple[tuple[Path, ...], bool]:
    """The take files an `audio` value names, and whether it named a directory."""
    path = Path(raw)
    path = path if path.is_absolute() else base / path
    if path.is_dir():
        found = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
        )
        if not found:
            raise SuiteError(
                f"{where}: the take directory {path} holds no audio files",
                hint=f"put {', '.join(AUDIO_SUFFIXES)} files in it",
            )
        return tuple(found), True
    if not path.is_file():
        raise SuiteError(
            f"{where}: no such audio file or directory: {path}",
            hint="paths are relative to the suite file; generate the example audio with "
            "`python tools/make_eval_audio.py`",
        )
    return (path,), False


def _case(spec: _CaseSpec, base: Path) -> Case:
    turns: list[Turn] = []
    counts: set[int] = set()
    names: tuple[str, ...] = ("",)
    for index, turn in enumerate(spec.turn_specs()):
        where = f"case {spec.id!r}, turn {index + 1}"
        takes, directory = _takes(turn.audio, base, where) if turn.audio else ((), False)
        if directory:
            counts.add(len(takes))
            names = tuple(p.stem for p in takes)
        turns.append(Turn(index, takes, turn.text, turn.expect, turn.tool_choice))
    if len(counts) > 1:
        raise SuiteError(
            f"case {spec.id!r}: its take directories hold different numbers of takes "
            f"({', '.join(map(str, sorted(counts)))})",
            hint="take k of every directory is run together: give each directory the same "
            "takes, named alike (alice.wav, bob.wav, ...)",
        )
    return Case(spec.id, tuple(spec.tag_list()), spec.language, tuple(turns), names)


def load_suite(path: str | Path) -> Suite:
    """Read, validate and resolve a suite file.

    Raises:
        SuiteError: The file is missing, too large, not TOML, not valid for the format, or
            names audio that does not exist.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SUITE_BYTES:
            raise SuiteError(
                f"suite {path} is {size} bytes, over the {MAX_SUITE_BYTES}-byte limit",
                hint="split it into several suites",
            )
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"no such suite file: {path}", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"cannot read suite {path}: {exc}", hint="check the file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(
            f"suite {path} is not valid TOML: {exc}", hint="see docs/evals.md"
        ) from None
    try:
        parsed = _SuiteFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise SuiteError(
            f"suite {path}: {where}: {first['msg']}{more}",
            hint="see docs/evals.md for the format",
        ) from None
    seen: set[str] = set()
    for spec in parsed.cases:
        if spec.id in seen:
            raise SuiteError(f"suite {path}: two cases have the id {spec.id!r}", hint="rename one")
        seen.add(spec.id)
    base = path.resolve().parent
    settings = parsed.suite
    app = settings.app
    if app is not None:
        file, sep, name = app.partition(":")
        resolved = Path(os.path.normpath(Path(file) if Path(file).is_absolute() else base / file))
        app = str(resolved) + (sep + name if sep else "")
    perturb = parsed.perturbations
    if perturb.noise not in ("white", "brown"):
        noise = Path(perturb.noise)
        noise = noise if noise.is_absolute() else base / noise
        if not noise.is_file():
            raise SuiteError(
                f"suite {path}: perturbations.noise: no such noise file {noise}",
                hint='use "white", "brown" or the path of a recording',
            )
        perturb = perturb.model_copy(update={"noise": str(noise)})
    return Suite(
        path=path,
        name=settings.name,
        app=app,
        seed=settings.seed,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        concurrency=settings.concurrency,
        tool_choice=settings.tool_choice,
        dry_results=dict(parsed.dry_results),
        perturbations=perturb,
        cases=tuple(_case(spec, base) for spec in parsed.cases),
    )


Column = Literal["audio", "cascade"]
