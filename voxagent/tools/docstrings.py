"""Read a tool's description and its parameters' descriptions from the function's docstring.

Google, NumPy, Sphinx (reST) and Epydoc styles are recognised by `docstring-parser`, which picks
whichever style explains the most of the docstring.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import docstring_parser

__all__ = ["ParsedDocstring", "parse_docstring"]


@dataclass(frozen=True)
class ParsedDocstring:
    """What a docstring tells the model about a tool.

    Attributes:
        description: The summary line, then the long description (paragraphs kept), without the
            parameter, return and raise sections.
        params: Each documented parameter's description, whitespace collapsed to single spaces.
    """

    description: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> ParsedDocstring:
    """Parse a docstring of any common style.

    Args:
        doc: The raw docstring (`fn.__doc__`), possibly None.

    Returns:
        The description and the per-parameter descriptions; empty when there is no docstring.
    """
    if not doc or not doc.strip():
        return ParsedDocstring()
    cleaned = inspect.cleandoc(doc)
    try:
        parsed = docstring_parser.parse(cleaned)
    except docstring_parser.ParseError:
        # A docstring that no style understands is still a fine description.
        return ParsedDocstring(description=cleaned)
    parts = [part.strip() for part in (parsed.short_description, parsed.long_description) if part]
    params: dict[str, str] = {}
    for param in parsed.params:
        if not param.description or not param.description.strip():
            continue
        # NumPy style documents several parameters at once: "x, y : float".
        for name in param.arg_name.split(","):
            params[name.strip()] = " ".join(param.description.split())
    return ParsedDocstring(description="\n\n".join(parts), params=params)
