"""The name voxagent is installed by, and the install line every hint and document shows.

The import package is `voxagent`, but the name `voxagent` on PyPI belongs to an unrelated
project: this one is distributed as `voxagent-voxtral`. Until it is published there, it installs
from its git repository (or from a checkout with `pip install -e .`).
"""

from __future__ import annotations

__all__ = ["DISTRIBUTION", "SOURCE", "pip_install"]

DISTRIBUTION = "voxagent-voxtral"
SOURCE = "git+https://github.com/voxagent/voxagent"


def pip_install(extra: str | None = None) -> str:
    """The command that installs voxagent (with `extra`, e.g. "serve"), as people should type it.

    Example:
        >>> pip_install("serve")
        "pip install 'voxagent-voxtral[serve] @ git+https://github.com/voxagent/voxagent'"
    """
    name = f"{DISTRIBUTION}[{extra}]" if extra else DISTRIBUTION
    return f"pip install '{name} @ {SOURCE}'"
