#!/usr/bin/env bash
# Side-by-side benchmark: the same one-hop HTTP/1.1 proxying through
# remora-proxy, HAProxy, nghttpx and (optionally) nginx, one worker each, in
# front of the same nginx backend. See docs/benchmarks.md for the method.
#
# usage: tests/bench/run.sh [--proxies "remora remora-traced remora-logged haproxy nghttpx nginx"]
#                           [--rate 1000] [--duration 15] [--sat-duration 10]
#                           [--clients 10] [--sat-clients 50]
#                           [--remora PATH] [--out FILE.md] [--keep]
#
# Loopback only. The proxy runs on CPU 0, h2load and the backend on CPU 1
# (taskset). Every process it starts is tracked by PID and only those are
# stopped; nothing system-wide is changed. Ports come from bind(0)-and-close
# (racy, acceptable for a benchmark run by hand). Bounded: with the defaults
# the whole run takes about 2 minutes; each h2load run has a hard timeout.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

PROXIES="${BENCH_PROXIES:-remora haproxy nghttpx nginx}"
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

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --proxies) PROXIES="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --sat-duration) SAT_DURATION="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --sat-clients) SAT_CLIENTS="$2"; shift 2 ;;
    --remora) REMORA_BIN="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

if [ $((RATE % CLIENTS)) -ne 0 ]; then
  echo "run.sh: --rate ($RATE) must be a multiple of --clients ($CLIENTS): h2load's --rps is per client" >&2
  exit 2
fi
for tool in h2load taskset curl timeout; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required (scripts/deps.sh installs it)" >&2; exit 2; }
done
if [ "$(nproc)" -lt 2 ]; then
  echo "run.sh: needs 2 CPUs (proxy on CPU 0, load and backend on CPU 1)" >&2
  exit 2
fi
if [ "${REMORA_BUILD_TYPE:-}" = "Debug" ]; then
  echo "run.sh: warning: remora-proxy comes from a Debug build; its numbers mean little" >&2
fi
# Debian's nginx and haproxy live in /usr/sbin, which a non-root PATH may lack.
PATH="$PATH:/usr/sbin:/sbin"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/remora-bench-XXXXXX")"
ROWS="$WORK/rows.jsonl"
: > "$ROWS"

# Debian's interpreter: a version-manager shim would add a second per call.
PYTHON="$(command -v /usr/bin/python3 || command -v python3 || true)"
[ -n "$PYTHON" ] || { echo "run.sh: python3 is required" >&2; exit 2; }
helper() { "$PYTHON" "$HERE/bench_helper.py" "$@"; }
log() { printf '[bench] %s\n' "$*" >&2; }
# Process tracking, cleanup on exit, CPU pinning: shared by the bench scripts.
source "$HERE/bench_lib.sh"

# Waits until http://127.0.0.1:PORT/ answers (any status), up to 10 s.
wait_http() {
  local port="$1" pid="$2"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 1
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then return 0; fi
    sleep 0.1
  done
  return 1
}

# --- the backend --------------------------------------------------------------
command -v nginx >/dev/null || { echo "run.sh: nginx is required for the backend" >&2; exit 2; }
BACKEND_PORT="$(helper free-port)"
helper render "$HERE/nginx-backend.conf.in" "$WORK/nginx-backend.conf" "DIR=$WORK" "BACKEND_PORT=$BACKEND_PORT"
start_on "$LOAD_CPU" nginx-backend nginx -p "$WORK" -e "$WORK/nginx-backend.stderr" -c "$WORK/nginx-backend.conf"
BACKEND_PID=$STARTED_PID
if ! wait_http "$BACKEND_PORT" "$BACKEND_PID" || [ "$(curl -s "http://127.0.0.1:$BACKEND_PORT/")" != "ok" ]; then
  echo "run.sh: the nginx backend did not start:" >&2
  cat "$WORK/nginx-backend.log" "$WORK/nginx-backend.stderr" >&2 2>/dev/null || true
  exit 1
fi
log "backend: nginx pid $BACKEND_PID on 127.0.0.1:$BACKEND_PORT (CPU $LOAD_CPU)"

# --- the span collector for remora-traced (tests/integration/trace_collector) ---
COLLECTOR_PORT=""
start_collector() {
  [ -n "$COLLECTOR_PORT" ] && return 0
  local dir="$ROOT/tests/integration/trace_collector"
  [ -d "$dir/node_modules" ] && command -v node >/dev/null || return 1
  start_on "$LOAD_CPU" collector node "$dir/collector.js" --port-file "$WORK/collector.port" --count-only
  for _ in $(seq 1 100); do
    [ -s "$WORK/collector.port" ] && break
    sleep 0.1
  done
  COLLECTOR_PORT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$WORK/collector.port" 2>/dev/null)" || return 1
  [ -n "$COLLECTOR_PORT" ]
}

# --- one proxy ---------------------------------------------------------------
# start_proxy NAME PORT: starts the proxy on CPU 0; returns 3 when its binary
# is missing (skip), sets STARTED_PID otherwise.
start_proxy() {
  local name="$1" port="$2"
  case "$name" in
    remora|remora-traced|remora-logged)
      [ -x "$REMORA_BIN" ] || { log "skip $name: $REMORA_BIN not built (cmake --build ... --target remora-proxy)"; return 3; }
      local hcm_extra="" extra_clusters=""
      if [ "$name" = remora-traced ]; then
        start_collector || { log "skip $name: the trace collector did not start (scripts/deps.sh runs npm ci)"; return 3; }
        # Every request traced (100 %), OTLP/HTTP to the test collector.
        hcm_extra=$'\n          tracing:\n            random_sampling: { value: 100 }\n            provider:'
        hcm_extra+=$'\n              name: envoy.tracers.opentelemetry\n              typed_config:'
        hcm_extra+=$'\n                "@type": type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig'
        hcm_extra+=$'\n                service_name: bench'
        hcm_extra+=$'\n                http_service:\n                  http_uri: { uri: "http://127.0.0.1:'"$COLLECTOR_PORT"$'/v1/traces", cluster: collector, timeout: 2s }'
        extra_clusters=$'\n  - name: collector\n    type: STATIC\n    connect_timeout: 1s\n    load_assignment:'
        extra_clusters+=$'\n      cluster_name: collector\n      endpoints:\n      - lb_endpoints:\n        - endpoint:'
        extra_clusters+=$'\n            address:\n              socket_address: { address: 127.0.0.1, port_value: '"$COLLECTOR_PORT"' }'
      elif [ "$name" = remora-logged ]; then
        # One JSON access-log line per request.
        hcm_extra=$'\n          access_log:\n          - name: envoy.access_loggers.file\n            typed_config:'
        hcm_extra+=$'\n              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog'
        hcm_extra+=$'\n              path: '"$WORK/access.log"$'\n              log_format: { json_format: { line: "%START_TIME%" } }'
      fi
      helper render "$HERE/remora-bench.yaml" "$WORK/$name.yaml" "PROXY_PORT=$port" "BACKEND_PORT=$BACKEND_PORT" \
        "HCM_EXTRA=$hcm_extra" "EXTRA_CLUSTERS=$extra_clusters"
      start_on "$PROXY_CPU" "$name" "$REMORA_BIN" --config "$WORK/$name.yaml" \
        --admin-address-path "$WORK/$name-admin" --concurrency 1
      ;;
    haproxy)
      command -v haproxy >/dev/null || { log "skip haproxy: not installed"; return 3; }
      helper render "$HERE/haproxy.cfg.in" "$WORK/haproxy.cfg" "DIR=$WORK" "PROXY_PORT=$port" "BACKEND_PORT=$BACKEND_PORT"
      start_on "$PROXY_CPU" haproxy haproxy -db -f "$WORK/haproxy.cfg"
      ;;
    nghttpx)
      command -v nghttpx >/dev/null || { log "skip nghttpx: not installed"; return 3; }
      # --single-process: one process to measure (else a main and a worker);
      # --conf=/dev/null: ignore /etc/nghttpx/nghttpx.conf.
      start_on "$PROXY_CPU" nghttpx nghttpx --conf=/dev/null --single-process --workers=1 \
        "--frontend=127.0.0.1,$port;no-tls" "--backend=127.0.0.1,$BACKEND_PORT" \
        --backend-keep-alive-timeout=60s --no-via --no-ocsp --errorlog-file="$WORK/nghttpx.errors"
      ;;
    nginx)
      helper render "$HERE/nginx-proxy.conf.in" "$WORK/nginx-proxy.conf" "DIR=$WORK" "PROXY_PORT=$port" "BACKEND_PORT=$BACKEND_PORT"
      start_on "$PROXY_CPU" nginx-proxy nginx -p "$WORK" -e "$WORK/nginx-proxy.stderr" -c "$WORK/nginx-proxy.conf"
      ;;
    *)
      log "skip $name: unknown proxy (remora, remora-traced, remora-logged, haproxy, nghttpx, nginx)"; return 3 ;;
  esac
}

# h2load_run LABEL TIMEOUT_S ARGS...: h2load --h1 on CPU 1 with a hard timeout.
h2load_run() {
  local label="$1" limit="$2"
  shift 2
  timeout --signal=KILL "$limit" taskset -c "$LOAD_CPU" h2load --h1 -t 1 "$@" > "$WORK/$label.out" 2>&1 || \
    log "h2load $label ended with status $? (see its output with --keep)"
}

bench_proxy() {
  local name="$1" port pid url rc=0
  port="$(helper free-port)"
  start_proxy "$name" "$port" || rc=$?
  [ "$rc" -eq 0 ] || return 0
  pid=$STARTED_PID
  url="http://127.0.0.1:$port/"
  if ! wait_http "$port" "$pid" || [ "$(curl -s --max-time 2 "$url")" != "ok" ]; then
    log "skip $name: it did not proxy a request on $url; its log:"
    tail -n 20 "$WORK/$name.log" "$WORK/$name"*.stderr 2>/dev/null | sed 's/^/    /' >&2 || true
    stop_pid "$pid"
    return 0
  fi
  local idle_kb cpu0 cpu1 cpu2 peak_kb fixed sat
  idle_kb="$(helper rss-kb "$pid" VmRSS)"
  log "$name: pid $pid on $url (CPU $PROXY_CPU), idle RSS ${idle_kb} KiB; warming up"
  h2load_run "$name-warmup" 30 -n 2000 -c "$CLIENTS" "$url"

  log "$name: fixed rate $RATE req/s for ${DURATION}s"
  cpu0="$(helper cpu-us "$pid")"
  h2load_run "$name-fixed" $((DURATION * 2 + 30)) -c "$CLIENTS" --rps $((RATE / CLIENTS)) \
    -n $((RATE * DURATION)) --log-file "$WORK/$name-fixed.tsv" "$url"
  cpu1="$(helper cpu-us "$pid")"

  log "$name: saturation, $SAT_CLIENTS connections for ${SAT_DURATION}s"
  h2load_run "$name-sat" $((SAT_DURATION + 30)) -c "$SAT_CLIENTS" -D "$SAT_DURATION" \
    --log-file "$WORK/$name-sat.tsv" "$url"
  cpu2="$(helper cpu-us "$pid")"
  peak_kb="$(helper rss-kb "$pid" VmHWM)"

  fixed="$(helper h2load "$WORK/$name-fixed.out" "$WORK/$name-fixed.tsv")"
  sat="$(helper h2load "$WORK/$name-sat.out" "$WORK/$name-sat.tsv")"
  helper row "$name" "$idle_kb" "$peak_kb" "$fixed" $((cpu1 - cpu0)) "$sat" $((cpu2 - cpu1)) >> "$ROWS"
  case "$name" in
    remora-traced|remora-logged)
      # Proof the feature worked during the run: spans exported, lines written.
      log "$name: $(curl -s --max-time 2 "http://$(cat "$WORK/$name-admin")/stats" |
        grep -E '^remora_(tracing_spans|access_log_lines)_total' | tr '\n' ' ')" ;;
  esac
  stop_pid "$pid"
  # Let the backend's keep-alive connections from this proxy close.
  sleep 1
}

for proxy in $PROXIES; do
  bench_proxy "$proxy"
done

# --- report --------------------------------------------------------------------
versions() {
  echo "- h2load: $(h2load --version 2>&1 | head -n1)"
  echo "- backend: $(nginx -v 2>&1 | head -n1)"
  command -v haproxy >/dev/null && echo "- haproxy: $(haproxy -v 2>&1 | head -n1)"
  command -v nghttpx >/dev/null && echo "- nghttpx: $(nghttpx --version 2>&1 | head -n1)"
  [ -x "$REMORA_BIN" ] && echo "- remora-proxy: $REMORA_BIN ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown))"
  echo "- machine: $(nproc) CPUs, $(uname -srm); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
report() {
  echo "### Run of $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Fixed rate: $RATE req/s for ${DURATION}s over $CLIENTS connections; saturation: $SAT_CLIENTS connections for ${SAT_DURATION}s. CPU us/req = proxy utime+stime / succeeded requests."
  echo
  if [ -s "$ROWS" ]; then helper table "$ROWS"; else echo "No proxy was measured."; fi
  echo
  versions
}
report | tee ${OUT:+"$OUT"}
