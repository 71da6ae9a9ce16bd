"""The distribution name: every install line installs this project, and the wheel installs by it.

PyPI's `voxagent` is an unrelated project, so this one is distributed as `voxagent-voxtral`
(imported as `voxagent`). The slow test builds the wheel, installs it by that name into a fresh
virtual environment (dependencies from pip's cache) and runs the installed `voxagent --version`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import voxagent
from voxagent.distribution import DISTRIBUTION, SOURCE, pip_install

ROOT = Path(__file__).resolve().parents[2]
# `pip install ARGS`, up to the end of the line or of the inline code span.
PIP_INSTALL = re.compile(r"pip install ([^`\n]+)")
OTHER_PACKAGES = ("mlx-audio", "vllm-router", "{package}")  # not ours, on purpose


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_distribution_name_is_ours_and_the_import_name_stays() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["name"] == DISTRIBUTION == "voxagent-voxtral"
    assert project["scripts"] == {"voxagent": "voxagent.cli:main"}
    assert project["version"] == voxagent.__version__
    assert "otel" in project["optional-dependencies"]


def test_every_install_line_in_the_docs_installs_this_project() -> None:
    checked = 0
    for path in documents():
        for line_no, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            for match in PIP_INSTALL.finditer(line):
                args = match.group(1)
                where = f"{path.relative_to(ROOT)}:{line_no}: pip install {args}"
                checked += 1
                if args.startswith(OTHER_PACKAGES):
                    continue
                ours = f"{DISTRIBUTION}" in args and SOURCE in args
                checkout = args.startswith(("-e .", "-e '.", "."))
                assert ours or checkout, f"{where}: installs something else than this project"
    assert checked >= 3  # README's quick start and extras, docs' extras


def test_the_hints_in_code_install_this_project() -> None:
    assert pip_install("serve") == (
        "pip install 'voxagent-voxtral[serve] @ git+https://github.com/voxagent/voxagent'"
    )
    stale = []
    for path in (ROOT / "voxagent").rglob("*.py"):
        text = path.read_text("utf-8")
        stale += [f"{path}: {m}" for m in re.findall(r"pip install '?voxagent\b[^-]", text)]
    assert stale == []


@pytest.mark.slow
def test_the_wheel_installs_by_its_name_into_a_fresh_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    env = tmp_path / "venv"

    def run(*command: str | Path) -> str:
        done = subprocess.run(
            [str(c) for c in command],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,
        )
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "wheel", "-q", "--no-deps", "-w", wheels, ROOT)
    (wheel,) = wheels.glob("*.whl")
    assert wheel.name.startswith("voxagent_voxtral-")
    run(sys.executable, "-m", "venv", "--without-pip", env)
    python = env / "bin" / "python"
    # By name, from the wheel just built (the dependencies come from the index or pip's cache).
    requirement = f"{DISTRIBUTION}=={voxagent.__version__}"
    run(*pip, "--python", python, "install", "-q", "--find-links", wheels, requirement)
    assert run(env / "bin" / "voxagent", "--version").strip() == (
        f"voxagent {voxagent.__version__} (voxagent-voxtral)"
    )
    where = run(python, "-c", "import voxagent, sys; print(voxagent.__file__)").strip()
    assert where.startswith(str(env)), where  # the installed copy, not this checkout
