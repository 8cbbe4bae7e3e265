#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the
# default suite (unit + integration). CI runs exactly this (.ci/run).
#
#   scripts/test.sh                 # RelWithDebInfo build in build/
#   REMORA_SANITIZE=asan scripts/test.sh   # ASan+UBSan build in build-asan/
#   REMORA_SANITIZE=tsan scripts/test.sh   # TSan build in build-tsan/ (multi-worker tests)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

flags=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
dir=build
labels='unit|integration'
case "${REMORA_SANITIZE:-}" in
  asan) dir=build-asan; flags+=(-DREMORA_ASAN=ON) ;;
  tsan) dir=build-tsan; flags+=(-DREMORA_TSAN=ON); labels='tsan' ;;
  "") ;;
  *) echo "REMORA_SANITIZE must be asan or tsan" >&2; exit 2 ;;
esac

cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
cd "$dir"
ctest --output-on-failure -j 2 --timeout 300 -L "$labels"
