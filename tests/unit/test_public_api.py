"""The package's public surface: every exported name resolves, and importing stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import voxagent
from voxagent import events


def test_every_name_in_all_resolves() -> None:
    for name in voxagent.__all__:
        assert getattr(voxagent, name) is not None, name
    assert sorted(dir(voxagent)) == sorted(voxagent.__all__)


def test_the_design_api_shape_is_importable() -> None:
    from voxagent import Agent, RunContext, ToolError, tool  # noqa: F401
    from voxagent.audio import AudioFile, Microphone  # noqa: F401

    assert callable(tool)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        voxagent.Nope  # noqa: B018


def test_every_event_has_a_json_type_name() -> None:
    for name in events.__all__:
        kind = getattr(events, name)
        if isinstance(kind, type) and name not in ("Event",):
            assert kind in events._TYPE_NAMES, name


def test_import_voxagent_loads_no_heavy_modules() -> None:
    code = (
        "import sys, voxagent; heavy = [m for m in ('numpy', 'httpx', 'sounddevice', "
        "'mistral_common', 'pydantic', 'soundfile') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_library_logs_nothing_to_stderr_unless_the_application_configures_logging() -> None:
    import subprocess
    import sys

    code = (
        "import logging, voxagent\n"
        "logging.getLogger('voxagent.tools').error('tool x raised', exc_info=ValueError('boom'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == ""
