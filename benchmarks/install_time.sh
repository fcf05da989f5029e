#!/bin/bash
# Times the README's first command (without the final `musclemap demo`: `pip install -e
# ".[pose,web]"`, no torch) on a fresh clone with an empty pip cache, then the research
# framework's extra install (torch + `.[all]`), and counts pip's backtracking messages.
#   benchmarks/install_time.sh [WORKDIR]   (default: a new temporary folder)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
git clone -q "$repo" "$work/musclemap"
cd "$work/musclemap"
export PIP_NO_CACHE_DIR=1
start=$(date +%s.%N)
python3.11 -m venv .venv
.venv/bin/pip install -v -e ".[pose,web]" > pip-all.log 2>&1
mid=$(date +%s.%N)
.venv/bin/musclemap demo --out-dir demo-out > demo.log 2>&1
demo=$(date +%s.%N)
.venv/bin/pip install torch==2.13.0 > pip-torch.log 2>&1
.venv/bin/pip install -e ".[all]" > pip-research.log 2>&1
end=$(date +%s.%N)
python3 - "$start" "$mid" "$demo" "$end" <<'PY'
import sys
start, mid, demo, end = map(float, sys.argv[1:])
print(f"README first command: install {mid - start:.0f} s, then demo {demo - mid:.0f} s")
print(f"research extra (torch + .[all]) afterwards: {end - demo:.0f} s")
PY
echo "backtracking messages: $(grep -c 'pip is looking at multiple versions' pip-all.log || true)"
echo "wheels downloaded: $(grep -c '^  Downloading' pip-all.log || true); logs in $work/musclemap"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
