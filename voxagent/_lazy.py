"""Lazy package exports: one table of `name -> module`, loaded on first use.

Each package `__init__` keeps one `_EXPORTS` table; `__all__` is derived from it, and
`lazy_exports` gives the module's `__getattr__` and `__dir__`. The same names are imported under
`TYPE_CHECKING` (as `import X as X`, an explicit re-export) so type checkers see them; a test
checks that block against the table, so the two cannot drift apart.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of a package whose names load on first use.

    Args:
        package: The package's `__name__` (for the error message).
        exports: Public name -> the module that defines it.
        namespace: The package's `globals()`: a loaded name is cached there, so the next access
            is a plain attribute lookup.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(namespace.get("__all__", exports))

    return __getattr__, __dir__
