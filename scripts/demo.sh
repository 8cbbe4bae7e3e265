#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# demo (examples/demo/run.sh). Extra arguments go to the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target remora-proxy remora-echo remora-cp remoractl
exec bash examples/demo/run.sh "$@"
