#!/usr/bin/env bash
# The demo mesh (examples/demo/demo.py): a frontend calling catalog (three
# instances) and ratings (v1/v2 split 90/10) through sidecars configured by
# remora-cp, while a story of faults plays under steady traffic.
#
#   examples/demo/run.sh [--keep] [--quick] [--plain] [--summary-json FILE]
#
# Uses the binaries in build/ (or $REMORA_BUILD_DIR); scripts/demo.sh
# installs what is missing and builds them first.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 examples/demo/demo.py "$@"
