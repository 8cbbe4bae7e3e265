#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for a bounded
# time through ctest's `fuzz` label. Not part of the default suite.
#
#   scripts/fuzz.sh                # 30 s per target (the ctest default)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREMORA_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target http1_parser_fuzz http2_codec_fuzz
cd build-fuzz
ctest --output-on-failure -L fuzz
