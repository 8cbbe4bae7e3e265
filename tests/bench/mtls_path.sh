#!/usr/bin/env bash
# Two sidecars with mutual TLS between them, through three implementations,
# in one run on the same topology (docs/benchmarks.md, "Two sidecars with
# mTLS"):
#
#   h2load --h1 -> proxy A (plain in; TLS out with a client certificate,
#   verifying B) -> proxy B (TLS in, client certificate required and
#   verified) -> nginx backend
#
# usage: tests/bench/mtls_path.sh [--proxies "remora haproxy nghttpx"]
#                                 [--hop h2|http/1.1] [--rate 1000]
#                                 [--duration 15] [--sat-duration 10]
#                                 [--clients 10] [--sat-clients 50]
#                                 [--remora PATH] [--out FILE.md] [--keep]
#
# --hop is the protocol between A and B, the same for every pair (default h2,
# what a mesh uses between sidecars). Loopback only. Both proxies of a pair
# run on CPU 0, h2load and the backend on CPU 1 (taskset). Every process it
# starts is tracked by PID and only those are stopped. Certificates (a P-256
# root and two SPIFFE leafs) are made with the openssl CLI in a temporary
# directory. Bounded: about 45 s per pair with the defaults, every h2load run
# and every wait has a hard timeout.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

PROXIES="${BENCH_PROXIES:-remora haproxy nghttpx}"
HOP="${BENCH_HOP:-h2}"
RATE="${BENCH_RATE:-1000}"
DURATION="${BENCH_DURATION:-15}"
SAT_DURATION="${BENCH_SAT_DURATION:-10}"
CLIENTS="${BENCH_CLIENTS:-10}"
SAT_CLIENTS="${BENCH_SAT_CLIENTS:-50}"
REMORA_BIN="${REMORA_PROXY:-${REMORA_BUILD_DIR:-$ROOT/build}/proxy/main/remora-proxy}"
OUT=""
KEEP="${BENCH_KEEP:-0}"
PROXY_CPU=0
LOAD_CPU=1

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --proxies) PROXIES="$2"; shift 2 ;;
    --hop) HOP="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --sat-duration) SAT_DURATION="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --sat-clients) SAT_CLIENTS="$2"; shift 2 ;;
    --remora) REMORA_BIN="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "mtls_path.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

case "$HOP" in
  h2|http/1.1) ;;
  *) echo "mtls_path.sh: --hop must be h2 or http/1.1" >&2; exit 2 ;;
esac
if [ $((RATE % CLIENTS)) -ne 0 ]; then
  echo "mtls_path.sh: --rate ($RATE) must be a multiple of --clients ($CLIENTS): h2load's --rps is per client" >&2
  exit 2
fi
# Debian's nginx, haproxy and nghttpx live in /usr/sbin, which a non-root PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"
for tool in h2load taskset curl timeout openssl nginx; do
  command -v "$tool" >/dev/null || { echo "mtls_path.sh: $tool is required (scripts/deps.sh installs it)" >&2; exit 2; }
done
if [ "$(nproc)" -lt 2 ]; then
  echo "mtls_path.sh: needs 2 CPUs (proxies on CPU 0, load and backend on CPU 1)" >&2
  exit 2
fi
if [ "${REMORA_BUILD_TYPE:-}" = "Debug" ]; then
  echo "mtls_path.sh: warning: remora-proxy comes from a Debug build; its numbers mean little" >&2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/remora-mtls-bench-XXXXXX")"
ROWS="$WORK/rows.jsonl"
: > "$ROWS"

PYTHON="$(command -v /usr/bin/python3 || command -v python3 || true)"
[ -n "$PYTHON" ] || { echo "mtls_path.sh: python3 is required" >&2; exit 2; }
helper() { "$PYTHON" "$HERE/bench_helper.py" "$@"; }
mtls_helper() { "$PYTHON" "$HERE/mtls_helper.py" "$@"; }
log() { printf '[mtls-bench] %s\n' "$*" >&2; }
# Process tracking, cleanup on exit, CPU pinning: shared by the bench scripts.
source "$HERE/bench_lib.sh"

# Certificates, the backend, starting and checking a pair: shared with report.sh.
source "$HERE/mtls_lib.sh"

make_certs
log "certificates: root, A ($CLIENT_ID), B ($SERVER_ID + DNS:localhost) in $WORK"
start_backend

bench_pair() {
  local name="$1" pid_a pid_b url
  start_pair "$name" || return 0
  pid_a=$PAIR_PID_A
  pid_b=$PAIR_PID_B
  url=$PAIR_URL
  local raw="$WORK/$name-raw.json" idle_a idle_b load_a load_b c0a c0b c1a c1b c2a c2b load_pid
  idle_a="$(helper rss-kb "$pid_a" VmRSS)"
  idle_b="$(helper rss-kb "$pid_b" VmRSS)"
  log "$name: idle RSS A ${idle_a} KiB, B ${idle_b} KiB; warming up"
  h2load_run "$name-warmup" 30 -n 2000 -c "$CLIENTS" "$url"

  log "$name: fixed rate $RATE req/s for ${DURATION}s"
  c0a="$(helper cpu-us "$pid_a")"; c0b="$(helper cpu-us "$pid_b")"
  h2load_run "$name-fixed" $((DURATION * 2 + 30)) -c "$CLIENTS" --rps $((RATE / CLIENTS)) \
    -n $((RATE * DURATION)) --log-file "$WORK/$name-fixed.tsv" "$url" &
  load_pid=$!
  # RSS under load: sampled half way through the fixed-rate run.
  sleep $(((DURATION + 1) / 2))
  load_a="$(helper rss-kb "$pid_a" VmRSS)"
  load_b="$(helper rss-kb "$pid_b" VmRSS)"
  wait "$load_pid" || true
  c1a="$(helper cpu-us "$pid_a")"; c1b="$(helper cpu-us "$pid_b")"

  log "$name: saturation, $SAT_CLIENTS connections for ${SAT_DURATION}s"
  h2load_run "$name-sat" $((SAT_DURATION + 30)) -c "$SAT_CLIENTS" -D "$SAT_DURATION" \
    --log-file "$WORK/$name-sat.tsv" "$url"
  c2a="$(helper cpu-us "$pid_a")"; c2b="$(helper cpu-us "$pid_b")"

  cat > "$raw" <<JSON
{"name": "$name", "hop": "$HOP",
 "fixed": $(helper h2load "$WORK/$name-fixed.out" "$WORK/$name-fixed.tsv"),
 "sat": $(helper h2load "$WORK/$name-sat.out" "$WORK/$name-sat.tsv"),
 "cpu_fixed_a": $((c1a - c0a)), "cpu_fixed_b": $((c1b - c0b)),
 "cpu_sat_a": $((c2a - c1a)), "cpu_sat_b": $((c2b - c1b)),
 "idle_a_kb": $idle_a, "idle_b_kb": $idle_b, "load_a_kb": $load_a, "load_b_kb": $load_b,
 "peak_a_kb": $(helper rss-kb "$pid_a" VmHWM), "peak_b_kb": $(helper rss-kb "$pid_b" VmHWM)}
JSON
  mtls_helper row "$raw" >> "$ROWS"
  [ "$name" = remora ] && remora_tls_counts
  stop_pid "$pid_a"
  stop_pid "$pid_b"
  # Let the backend's keep-alive connections from this pair close.
  sleep 1
}

for proxy in $PROXIES; do
  bench_pair "$proxy"
done

# --- report --------------------------------------------------------------------
report() {
  echo "### mTLS path, run of $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "h2load --h1 -> A -> mTLS ($HOP) -> B -> nginx. Fixed rate: $RATE req/s for ${DURATION}s over $CLIENTS" \
       "connections; saturation: $SAT_CLIENTS connections for ${SAT_DURATION}s. CPU us/req = each proxy's" \
       "utime+stime over the fixed-rate run / succeeded requests; RSS load = VmRSS half way through it."
  echo
  if [ -s "$ROWS" ]; then mtls_helper table "$ROWS"; else echo "No pair was measured."; fi
  echo
  bench_versions
  echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}
report | tee ${OUT:+"$OUT"}
