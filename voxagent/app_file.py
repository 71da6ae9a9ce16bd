"""Importing a user's app file, `FILE.py[:NAME]`, for the commands that take one."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

__all__ = ["import_app"]


def import_app(
    spec: str, error: Callable[[str], Exception], prefix: str = "voxagent_app"
) -> tuple[ModuleType, str, str]:
    """Import the Python file of `FILE.py[:NAME]`; return the module, the file and NAME.

    The module is registered in `sys.modules` first, as a normal import would be (dataclasses
    and pydantic look it up there), and its folder is importable while it runs.

    Args:
        spec: `FILE.py` or `FILE.py:NAME`.
        error: Makes the exception to raise from a message (a usage error on the command line).
        prefix: The start of the module's name in `sys.modules`.

    Raises:
        Exception: What `error` makes: no such file, or not a Python file.
    """
    path_text, _, name = spec.partition(":")
    path = Path(path_text)
    if not path.is_file():
        raise error(f"no such file: {path_text}")
    module_spec = importlib.util.spec_from_file_location(f"{prefix}_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise error(f"cannot import {path_text}: not a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module, path_text, name
