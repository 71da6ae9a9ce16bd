"""Text from outside, made safe: `clean_text` for what is sent or stored, `printable` for people.

Why: a Python `str` can hold code points that UTF-8 cannot encode. One lone surrogate in a
conversation (a tool returning `os.fsdecode(b"report-\\xff.txt")`, which is
`"report-\\udcff.txt"`; a model answer carrying the JSON escape `"\\ud800"`; the same escape in a
conversation file edited by hand) makes every later request body and every `Conversation.save()`
raise `UnicodeEncodeError`, so the whole conversation is lost to one character.

How voxagent uses these:

- `clean_text` runs wherever text enters a conversation: every `Conversation.add_user`,
  `add_assistant` (text, tool-call names and arguments), `add_tool_result`, `set_transcript`, the
  instructions, every text field of a loaded file, and every `ToolResult.content`. Whatever is
  stored therefore encodes as UTF-8, so `render()` and `save()` always encode. It replaces each
  lone surrogate (including the `surrogateescape` ones `os.fsdecode` makes from undecodable
  bytes) with U+FFFD, joins a surrogate pair written as two code points into the character it
  stands for, and drops NUL, which JSON can carry but which C-string code in servers and
  tokenizers truncates at. Newlines, tabs and every other character are kept: the model may need
  them, and JSON escapes the remaining controls. Valid text costs one scan and comes back as the
  same object, so it is cheap enough to run on every streamed model delta.
- `printable` is for text shown to a person (approval questions, the CLI, logs on a terminal):
  it escapes what a terminal would act on instead of showing (ANSI escape sequences, carriage
  returns that overwrite a line, other C0/C1 controls) and the bidirectional controls
  (embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069, marks U+200E, U+200F,
  U+061C) that make text read differently from what it is, so a model cannot disguise `rm -rf`
  inside a question. Newlines and tabs are kept. Escapes are written Python-style (`\\x1b`,
  `\\r`, `\\u202e`), so the text stays readable and nothing is lost.

Where text is shown to a person, note that `printable` keeps newlines: a question built from a
model's text can still gain lines that look like the program's own (quote or indent it).
"""

from __future__ import annotations

import re

__all__ = ["clean_text", "printable"]

# One pass finds everything clean_text changes; most text has none of it.
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
# C0 controls except \t and \n, DEL, C1 controls, and every bidi control Trojan Source uses
# (CVE-2021-42574): embeddings/overrides, isolates, and the ALM/LRM/RLM marks.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean_text(text: str) -> str:
    """Return `text` with what cannot be encoded or stored safely replaced or removed.

    Lone surrogates become U+FFFD (a surrogate pair split into two code points becomes the one
    character it encodes) and NUL characters are dropped; everything else, newlines and tabs
    included, is kept. Text that needs no change is returned as the same object.

    Args:
        text: Text from outside: a model, a tool, a file, a user.

    Returns:
        Text that always encodes as UTF-8 and carries no NUL.
    """
    if _UNSAFE.search(text) is None:
        return text
    # UTF-16 with surrogatepass turns each code point back into its code units; decoding with
    # "replace" pairs up what forms a pair and replaces every unpaired unit with U+FFFD.
    repaired = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return repaired.replace("\x00", "")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r":
        return "\\r"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Return `text` safe to show on a terminal: controls and bidi overrides escaped.

    ANSI escape sequences lose their ESC (shown as `\\x1b`), carriage returns show as `\\r`, other
    C0/C1 controls as `\\xNN`, and the bidirectional controls (U+202A-U+202E, U+2066-U+2069,
    U+200E, U+200F, U+061C) as `\\uNNNN`. Newlines and tabs are kept. The text is also
    passed through `clean_text`, so it can be written to any UTF-8 stream.

    Args:
        text: Text for a person to read (a tool's arguments in an approval question, a model's
            answer printed by the CLI).

    Returns:
        The text with every such character written as a visible escape.
    """
    text = clean_text(text)
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_escape, text)
