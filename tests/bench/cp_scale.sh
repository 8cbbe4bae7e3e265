#!/usr/bin/env bash
# Control-plane scale benchmark (docs/benchmarks.md, "Control plane scale"):
# starts remora-cp on loopback (port 0, a temporary data directory), runs
# remora-cp-load against it (1,000 simulated proxies x 1,000 services by
# default) and prints the load tool's summary. Stops only the PIDs it started.
#
# usage: tests/bench/cp_scale.sh [--build DIR] [--max-seconds N] [--cp-arg ARG]... [-- remora-cp-load args]
#   --build DIR        build directory holding control-plane/main/remora-cp and
#                      tests/bench/cp_load/remora-cp-load (default: build-rel, else build)
#   --max-seconds N    hard bound on the load tool's run (default 600)
#   --cp-arg ARG       extra argument for remora-cp (repeatable), e.g. --cp-arg --push-debounce=50ms
#   anything after --  goes to remora-cp-load (e.g. --proxies 200 --delta --writes 5)
# or: ninja -C BUILD cp-scale
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD=""
MAX_SECONDS=600
CP_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --max-seconds) MAX_SECONDS="$2"; shift 2 ;;
    --cp-arg) CP_ARGS+=("$2"); shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "cp_scale.sh: unknown argument $1 (load tool arguments go after --)" >&2; exit 2 ;;
  esac
done
if [[ -z "$BUILD" ]]; then
  if [[ -x "$ROOT/build-rel/control-plane/main/remora-cp" ]]; then BUILD="$ROOT/build-rel"; else BUILD="$ROOT/build"; fi
fi
CP="$BUILD/control-plane/main/remora-cp"
LOAD="$BUILD/tests/bench/cp_load/remora-cp-load"
for binary in "$CP" "$LOAD"; do
  [[ -x "$binary" ]] || { echo "cp_scale.sh: $binary not built (ninja -C $BUILD remora-cp remora-cp-load)" >&2; exit 2; }
done
if grep -q '^CMAKE_BUILD_TYPE:STRING=Debug' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "cp_scale.sh: warning: $BUILD is a Debug build; numbers are not meaningful" >&2
fi

# One connection per simulated proxy on each side, plus slack.
WANT_FILES=$(( 4096 + 4 * 1000 ))
for arg in "$@"; do
  if [[ "${PREV:-}" == "--proxies" ]]; then WANT_FILES=$(( 4096 + 4 * arg )); fi
  PREV="$arg"
done
if [[ "$(ulimit -n)" != unlimited && "$(ulimit -n)" -lt "$WANT_FILES" ]]; then
  ulimit -n "$WANT_FILES" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi

TMP="$(mktemp -d /tmp/remora-cp-scale.XXXXXX)"
CP_PID=""
cleanup() {
  if [[ -n "$CP_PID" ]] && kill -0 "$CP_PID" 2>/dev/null; then
    kill -TERM "$CP_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$CP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CP_PID" 2>/dev/null || true
    wait "$CP_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

"$CP" --data-dir "$TMP/data" --api-address 127.0.0.1:0 --xds-address 127.0.0.1:0 \
  --api-address-path "$TMP/api" --xds-address-path "$TMP/xds" --log-level warn ${CP_ARGS[@]+"${CP_ARGS[@]}"} \
  >"$TMP/cp.log" 2>&1 &
CP_PID=$!
for _ in $(seq 150); do
  [[ -s "$TMP/api" && -s "$TMP/xds" ]] && break
  kill -0 "$CP_PID" 2>/dev/null || { echo "cp_scale.sh: remora-cp exited:" >&2; cat "$TMP/cp.log" >&2; exit 1; }
  sleep 0.1
done
[[ -s "$TMP/api" && -s "$TMP/xds" ]] || { echo "cp_scale.sh: remora-cp did not write its addresses" >&2; cat "$TMP/cp.log" >&2; exit 1; }

echo "remora-cp $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?') pid $CP_PID, ulimit -n $(ulimit -n), load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
timeout --kill-after=10 "$MAX_SECONDS" "$LOAD" --api "$(cat "$TMP/api")" --xds "$(cat "$TMP/xds")" --cp-pid "$CP_PID" "$@" || status=$?
if [[ $status -ne 0 ]]; then
  echo "cp_scale.sh: remora-cp-load exited with $status; last remora-cp log lines:" >&2
  tail -n 20 "$TMP/cp.log" >&2
fi
exit $status
