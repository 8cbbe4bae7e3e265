#!/usr/bin/env bash
# Control-plane scale across replicas (docs/benchmarks.md, "Control plane
# scale"): a three-member etcd cluster on loopback, two remora-cp replicas
# over it (--store etcd), and remora-cp-load writing through replica r1's API
# while its simulated proxies (1,000 by default) stream to replica r2. What it
# times is a write through one replica reaching every proxy of another: the
# etcd commit, r2's watch, r2's rebuild and the pushes. Stops only the PIDs it
# started.
#
# usage: tests/bench/cp_replicas_scale.sh [--build DIR] [--max-seconds N] [-- remora-cp-load args]
#   --build DIR        holds control-plane/main/remora-cp and tests/bench/cp_load/remora-cp-load
#                      (default: build-rel, else build)
#   --max-seconds N    hard bound on the load tool's run (default 600)
#   anything after --  goes to remora-cp-load (e.g. --proxies 200 --writes 5)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD=""
MAX_SECONDS=600
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --max-seconds) MAX_SECONDS="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "cp_replicas_scale.sh: unknown argument $1 (load tool arguments go after --)" >&2; exit 2 ;;
  esac
done
if [[ -z "$BUILD" ]]; then
  if [[ -x "$ROOT/build-rel/control-plane/main/remora-cp" ]]; then BUILD="$ROOT/build-rel"; else BUILD="$ROOT/build"; fi
fi
CP="$BUILD/control-plane/main/remora-cp"
LOAD="$BUILD/tests/bench/cp_load/remora-cp-load"
for binary in "$CP" "$LOAD"; do
  [[ -x "$binary" ]] || { echo "cp_replicas_scale.sh: $binary not built (ninja -C $BUILD remora-cp remora-cp-load)" >&2; exit 2; }
done
command -v etcd >/dev/null || { echo "cp_replicas_scale.sh: etcd not installed (scripts/deps.sh)" >&2; exit 2; }
if grep -q '^CMAKE_BUILD_TYPE:STRING=Debug' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "cp_replicas_scale.sh: warning: $BUILD is a Debug build; numbers are not meaningful" >&2
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP="$(mktemp -d /tmp/remora-cp-replicas.XXXXXX)"
PIDS=()
cleanup() {
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in ${PIDS[@]+"${PIDS[@]}"}; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

# Free loopback ports, asked of the kernel (port 0), for etcd's six URLs.
mapfile -t PORTS < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))')
CLUSTER=""
ENDPOINTS=""
for i in 0 1 2; do
  CLUSTER+="${CLUSTER:+,}m$i=http://127.0.0.1:${PORTS[$((2 * i + 1))]}"
  ENDPOINTS+="${ENDPOINTS:+,}127.0.0.1:${PORTS[$((2 * i))]}"
done
for i in 0 1 2; do
  etcd --name "m$i" --data-dir "$TMP/etcd$i" \
    --listen-client-urls "http://127.0.0.1:${PORTS[$((2 * i))]}" --advertise-client-urls "http://127.0.0.1:${PORTS[$((2 * i))]}" \
    --listen-peer-urls "http://127.0.0.1:${PORTS[$((2 * i + 1))]}" --initial-advertise-peer-urls "http://127.0.0.1:${PORTS[$((2 * i + 1))]}" \
    --initial-cluster "$CLUSTER" --initial-cluster-state new --initial-cluster-token "remora-bench-$$" \
    >"$TMP/etcd$i.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 100); do
  ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" endpoint health >/dev/null 2>&1 && break
  sleep 0.2
done
ETCDCTL_API=3 etcdctl --endpoints "$ENDPOINTS" endpoint health >/dev/null 2>&1 ||
  { echo "cp_replicas_scale.sh: etcd did not become healthy" >&2; tail -n 5 "$TMP"/etcd*.log >&2; exit 1; }

for r in r1 r2; do
  "$CP" --data-dir "$TMP/$r" --insecure --store etcd --etcd-endpoints "$ENDPOINTS" --replica-name "$r" \
    --api-address 127.0.0.1:0 --xds-address 127.0.0.1:0 \
    --api-address-path "$TMP/$r.api" --xds-address-path "$TMP/$r.xds" --log-level warn >"$TMP/$r.log" 2>&1 &
  PIDS+=($!)
  eval "${r}_PID=$!"
done
for r in r1 r2; do
  for _ in $(seq 150); do [[ -s "$TMP/$r.api" && -s "$TMP/$r.xds" ]] && break; sleep 0.1; done
  [[ -s "$TMP/$r.api" ]] || { echo "cp_replicas_scale.sh: replica $r did not start:" >&2; cat "$TMP/$r.log" >&2; exit 1; }
done

echo "remora-cp $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'): writes through r1 (pid $r1_PID)," \
  "proxies on r2 (pid $r2_PID), etcd $ENDPOINTS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
timeout --kill-after=10 "$MAX_SECONDS" "$LOAD" --api "$(cat "$TMP/r1.api")" --xds "$(cat "$TMP/r2.xds")" \
  --cp-pid "$r2_PID" "$@" || status=$?
if [[ $status -ne 0 ]]; then
  echo "cp_replicas_scale.sh: remora-cp-load exited with $status; last log lines:" >&2
  tail -n 10 "$TMP/r1.log" "$TMP/r2.log" >&2
fi
exit $status
