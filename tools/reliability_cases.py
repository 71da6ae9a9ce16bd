"""Write the case tables of docs/reliability.md from the collected fault tests.

The tables list every test of `tests/faults/` and the real-server fault tests, with their
parametrised variants, grouped by file; the counts in the document's header come from the same
collection, so they cannot drift from the code. Run it after adding cases:

    .venv/bin/python tools/reliability_cases.py            # rewrite the tables in place
    .venv/bin/python tools/reliability_cases.py --check    # exit 1 when the document is stale
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- cases: begin -->", "<!-- cases: end -->"
PATHS = ["tests/faults", "tests/integration/test_real_server_faults.py"]

TITLES = {
    "test_audio_faults.py": "Audio",
    "test_fuzz.py": "Fuzz (ask)",
    "test_listen_fuzz.py": "Fuzz (listen)",
    "test_listen_faults.py": "Listen (the microphone path)",
    "test_live_loop.py": "The live loop (listen, errors that keep their type, truncated calls)",
    "test_speculation.py": "Speculative replies (the user resumes at any point)",
    "test_model_output_faults.py": "Model output",
    "test_process_faults.py": "Process (the CLI as a subprocess, SIGINT)",
    "test_real_server_faults.py": "Real vLLM server (marker `integration`)",
    "test_security.py": "Security",
    "test_server_faults.py": "Server",
    "test_tool_faults.py": "Tools",
    "test_hostile_server.py": "Hostile input: server output is data",
    "test_secrets.py": "Hostile input: secrets",
    "test_hostile_text.py": "Hostile input: text and saved files",
    "test_hostile_audio.py": "Hostile input: audio",
    "test_hostile_cli.py": "Hostile input: the command line",
    "test_test_kit.py": "Hostile input: the test kit",
}


def collect() -> list[str]:
    """Node ids of every case, as pytest collects them (markers included)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "", *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    if done.returncode != 0 or not ids:
        raise SystemExit(f"collection failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return ids


def tables(ids: list[str]) -> tuple[str, int, int]:
    """The markdown tables, the number of cases and the number of test functions."""
    by_file: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for node in ids:
        path, _, rest = node.partition("::")
        name, _, variant = rest.partition("[")
        by_file[path][name].append(variant.rstrip("]"))
    out: list[str] = []
    functions = 0
    for path in sorted(by_file, key=lambda p: TITLES.get(Path(p).name, p)):
        title = TITLES.get(Path(path).name, Path(path).stem)
        out += [f"### {title}", "", "| expected behaviour | variants | test |", "|---|---|---|"]
        for name, variants in by_file[path].items():
            functions += 1
            named = [v for v in variants if v]
            count = f"{len(variants)}: {', '.join(named)}" if named else str(len(variants))
            what = re.sub(r"^test_", "", name).replace("_", " ")
            out.append(f"| {what} | {count.replace('|', '/')} | `{path}::{name}` |")
        out.append("")
    return "\n".join(out).rstrip() + "\n", len(ids), functions


def render(document: str, ids: list[str]) -> str:
    body, cases, functions = tables(ids)
    integration = sum(1 for i in ids if i.startswith("tests/integration"))
    header = (
        f"**{cases} cases** ({functions} tests, parametrised variants counted separately): "
        f"{cases - integration} under `tests/faults/`,\n{integration} against the real vLLM CPU "
        "server in `tests/integration/test_real_server_faults.py`."
    )
    document = re.sub(r"\*\*\d+ cases\*\*.*?`tests/integration/test_real_server_faults\.py`\.",
                      header, document, count=1, flags=re.S)  # fmt: skip
    start, end = document.index(BEGIN) + len(BEGIN), document.index(END)
    return document[:start] + "\n\n" + body + "\n" + document[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the document is stale")
    args = parser.parse_args()
    current = DOC.read_text("utf-8")
    wanted = render(current, collect())
    if args.check:
        if wanted != current:
            print("docs/reliability.md is stale: run python tools/reliability_cases.py")
            return 1
        return 0
    DOC.write_text(wanted, "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
