"""Streamed tool-call arguments: when they form a whole JSON object, and a vLLM artifact undone.

`ObjectScanner` follows the arguments fragment by fragment and says when the outermost object
closes, so `StreamAssembler` parses them once per closing instead of once per fragment (a
megabyte of arguments in one-character fragments costs what reading it once costs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxagent.jsonsafe import loads_bounded

__all__ = ["ObjectScanner", "arguments_complete", "repair_streamed_arguments"]


def repair_streamed_arguments(text: str) -> str:
    """Undo a known vLLM artifact in streamed tool-call arguments.

    vLLM 0.32's Mistral tool parser, streaming a named tool_choice, sends the arguments with the
    tail of its own JSON wrapper in front (`:{"room": "kitchen"}`, seen against a real server).
    When the text is not valid JSON but what starts at the first `{` is, that object is the
    arguments; anything else is returned unchanged (tool validation reports it to the model).
    """
    stripped = text.strip()
    if not stripped or stripped[0] in "{[":
        return text
    start = stripped.find("{")
    if start <= 0 or stripped[:start].strip(" :,") != "":
        return text
    try:
        loads_bounded(stripped[start:])
    except ValueError:
        return text
    return stripped[start:]


def arguments_complete(text: str) -> bool:
    """Whether streamed arguments `text` form a whole JSON object (after the vLLM repair).

    Empty or blank text is not complete: a call cut off before its arguments began is as
    unfinished as one cut inside them.
    """
    repaired = repair_streamed_arguments(text)
    if not repaired.strip():
        return False
    try:
        value = loads_bounded(repaired)
    except ValueError:
        return False
    return isinstance(value, dict)


_SIGNIFICANT = re.compile(r'[{}\[\]"\\]')
_LEAD = re.compile(r"[^\s:,]")  # the first character past whitespace and the vLLM wrapper tail
_LEADING, _OPEN, _CLOSED, _DEAD = range(4)  # the scanner's states


@dataclass(slots=True)
class ObjectScanner:
    """Tracks, fragment by fragment, where a streamed JSON object would close.

    Parsing the whole text after every fragment is quadratic; this looks at each character
    once (only the structural ones, found by a regex, in Python) and says when a parse is worth
    trying: when the outermost `{` is matched. After that moment a complete object can only stay
    complete by being followed by whitespace, so later text either keeps it or kills it.
    """

    state: int = _LEADING
    depth: int = 0
    in_string: bool = False
    escaped: bool = False

    @property
    def closed(self) -> bool:
        """Whether the outermost object has closed, followed by nothing but whitespace so far."""
        return self.state == _CLOSED

    def feed(self, text: str) -> bool:
        """Scan one fragment; True when it closed the outermost object."""
        if self.state == _CLOSED:
            if text.strip():
                self.state = _DEAD
            return False
        if self.state == _DEAD or not text:
            return False
        start = 0
        if self.state == _LEADING:
            lead = _LEAD.search(text)
            if lead is None:
                return False
            if text[lead.start()] != "{":
                self.state = _DEAD  # not an object: only the end of the stream decides
                return False
            self.state, start = _OPEN, lead.start()
        skip = start
        if self.escaped:  # the previous fragment ended inside a string on a backslash
            self.escaped, skip = False, start + 1
        depth, in_string = self.depth, self.in_string
        for found in _SIGNIFICANT.finditer(text, skip):
            at = found.start()
            if at < skip:
                continue
            char = text[at]
            if in_string:
                if char == "\\":
                    skip = at + 2
                    if skip > len(text):
                        self.escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth <= 0:
                    self.depth, self.in_string = 0, False
                    self.state = _DEAD if text[at + 1 :].strip() else _CLOSED
                    return self.state == _CLOSED
        self.depth, self.in_string = depth, in_string
        return False
