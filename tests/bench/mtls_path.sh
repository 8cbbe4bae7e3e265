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
CLIENT_ID="spiffe://cluster.local/ns/bench/sa/client"
SERVER_ID="spiffe://cluster.local/ns/bench/sa/server"

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

# Waits until URL answers "ok" (extra curl arguments after it), up to 10 s,
# while PID lives.
wait_ok() {
  local pid="$1" url="$2"
  shift 2
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 1
    if [ "$(curl -s --max-time 1 "$@" "$url" 2>/dev/null)" = "ok" ]; then return 0; fi
    sleep 0.1
  done
  return 1
}

# --- certificates ---------------------------------------------------------------
# A P-256 root and two leafs shaped like the mesh's SVIDs: one URI SAN (the
# SPIFFE ID), CA:FALSE, digitalSignature, serverAuth+clientAuth; B also has
# DNS:localhost for the peers that check a host name instead of a URI SAN.
make_certs() {
  local d="$WORK"
  cat > "$d/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
O = remora-bench
[root_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/root.key" 2>/dev/null
  openssl req -new -x509 -config "$d/openssl.cnf" -extensions root_ext -key "$d/root.key" \
    -subj "/O=remora-bench/CN=bench root" -days 2 -sha256 -out "$d/root.pem"
  local leaf san
  for leaf in a b; do
    if [ "$leaf" = a ]; then san="URI:$CLIENT_ID"; else san="URI:$SERVER_ID,DNS:localhost"; fi
    cat > "$d/$leaf.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$leaf.key" 2>/dev/null
    openssl req -new -config "$d/openssl.cnf" -key "$d/$leaf.key" -subj "/O=cluster.local" -out "$d/$leaf.csr"
    openssl x509 -req -in "$d/$leaf.csr" -CA "$d/root.pem" -CAkey "$d/root.key" -CAcreateserial \
      -days 1 -sha256 -extfile "$d/$leaf.ext" -out "$d/$leaf.crt" 2>/dev/null
    # HAProxy's crt: certificate and key in one file.
    cat "$d/$leaf.crt" "$d/$leaf.key" > "$d/$leaf.pem"
  done
}
make_certs
log "certificates: root, A ($CLIENT_ID), B ($SERVER_ID + DNS:localhost) in $WORK"

# --- the backend --------------------------------------------------------------
BACKEND_PORT="$(helper free-port)"
helper render "$HERE/nginx-backend.conf.in" "$WORK/nginx-backend.conf" "DIR=$WORK" "BACKEND_PORT=$BACKEND_PORT"
start_on "$LOAD_CPU" nginx-backend nginx -p "$WORK" -e "$WORK/nginx-backend.stderr" -c "$WORK/nginx-backend.conf"
BACKEND_PID=$STARTED_PID
if ! wait_ok "$BACKEND_PID" "http://127.0.0.1:$BACKEND_PORT/"; then
  echo "mtls_path.sh: the nginx backend did not start:" >&2
  cat "$WORK/nginx-backend.log" "$WORK/nginx-backend.stderr" >&2 2>/dev/null || true
  exit 1
fi
log "backend: nginx pid $BACKEND_PID on 127.0.0.1:$BACKEND_PORT (CPU $LOAD_CPU)"

# --- one pair -------------------------------------------------------------------
# start_b NAME B_PORT / start_a NAME A_PORT B_PORT: start one side on CPU 0 and
# set STARTED_PID; return 3 when the binary is missing (skip the pair).
start_b() {
  local name="$1" b_port="$2"
  case "$name" in
    remora)
      helper render "$HERE/mtls_remora_b.yaml" "$WORK/remora-b.yaml" "DIR=$WORK" "B_PORT=$b_port" \
        "BACKEND_PORT=$BACKEND_PORT"
      start_on "$PROXY_CPU" remora-b "$REMORA_BIN" --config "$WORK/remora-b.yaml" \
        --admin-address-path "$WORK/remora-b-admin" --concurrency 1
      ;;
    haproxy)
      helper render "$HERE/mtls_haproxy_b.cfg.in" "$WORK/haproxy-b.cfg" "DIR=$WORK" "B_PORT=$b_port" \
        "BACKEND_PORT=$BACKEND_PORT"
      start_on "$PROXY_CPU" haproxy-b haproxy -db -f "$WORK/haproxy-b.cfg"
      ;;
    nghttpx)
      # Positional: B's key and certificate. The frontend offers h2 and
      # http/1.1 by ALPN (its default list) and requires a client certificate.
      start_on "$PROXY_CPU" nghttpx-b nghttpx --conf=/dev/null --single-process --workers=1 \
        "--frontend=127.0.0.1,$b_port" "--backend=127.0.0.1,$BACKEND_PORT" \
        --verify-client "--verify-client-cacert=$WORK/root.pem" --tls-min-proto-version=TLSv1.2 \
        --backend-keep-alive-timeout=60s --no-via --no-ocsp --errorlog-file="$WORK/nghttpx-b.errors" \
        "$WORK/b.key" "$WORK/b.crt"
      ;;
  esac
}

start_a() {
  local name="$1" a_port="$2" b_port="$3"
  case "$name" in
    remora)
      local alpn options=""
      if [ "$HOP" = h2 ]; then
        alpn="h2"
        options='    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }'
      else
        alpn="http/1.1"
      fi
      helper render "$HERE/mtls_remora_a.yaml" "$WORK/remora-a.yaml" "DIR=$WORK" "A_PORT=$a_port" \
        "B_PORT=$b_port" "UPSTREAM_ALPN=$alpn" "UPSTREAM_PROTOCOL_OPTIONS=$options"
      start_on "$PROXY_CPU" remora-a "$REMORA_BIN" --config "$WORK/remora-a.yaml" \
        --admin-address-path "$WORK/remora-a-admin" --concurrency 1
      ;;
    haproxy)
      local alpn="alpn http/1.1"
      [ "$HOP" = h2 ] && alpn="alpn h2"
      helper render "$HERE/mtls_haproxy_a.cfg.in" "$WORK/haproxy-a.cfg" "DIR=$WORK" "A_PORT=$a_port" \
        "B_PORT=$b_port" "HAPROXY_ALPN=$alpn"
      start_on "$PROXY_CPU" haproxy-a haproxy -db -f "$WORK/haproxy-a.cfg"
      ;;
    nghttpx)
      # The backend's TLS verifies B against --cacert and the host name in
      # sni= (nghttpx checks DNS SANs, not URI SANs).
      local proto="proto=http/1.1"
      [ "$HOP" = h2 ] && proto="proto=h2"
      start_on "$PROXY_CPU" nghttpx-a nghttpx --conf=/dev/null --single-process --workers=1 \
        "--frontend=127.0.0.1,$a_port;no-tls" "--backend=127.0.0.1,$b_port;;$proto;tls;sni=localhost" \
        "--client-private-key-file=$WORK/a.key" "--client-cert-file=$WORK/a.crt" "--cacert=$WORK/root.pem" \
        --backend-keep-alive-timeout=60s --no-via --no-ocsp --errorlog-file="$WORK/nghttpx-a.errors"
      ;;
  esac
}

pair_available() {
  case "$1" in
    remora)
      [ -x "$REMORA_BIN" ] || { log "skip remora: $REMORA_BIN not built (ninja -C BUILD remora-proxy)"; return 1; } ;;
    haproxy|nghttpx)
      command -v "$1" >/dev/null || { log "skip $1: not installed"; return 1; } ;;
    *) log "skip $1: unknown (remora, haproxy, nghttpx)"; return 1 ;;
  esac
}

show_logs() {
  tail -n 20 "$WORK/$1"-[ab].log "$WORK/$1"-[ab].errors 2>/dev/null | sed 's/^/    /' >&2 || true
}

# h2load_run LABEL TIMEOUT_S ARGS...: h2load --h1 on CPU 1 with a hard timeout.
h2load_run() {
  local label="$1" limit="$2"
  shift 2
  timeout --signal=KILL "$limit" taskset -c "$LOAD_CPU" h2load --h1 -t 1 "$@" > "$WORK/$label.out" 2>&1 || \
    log "h2load $label ended with status $? (see its output with --keep)"
}

# Proves B is really an mTLS server before its numbers are believed: a client
# without a certificate must be refused, one with A's certificate served.
check_b_requires_client_cert() {
  local name="$1" b_port="$2" pid_b="$3"
  local tls_args=(--cacert "$WORK/root.pem" --resolve "localhost:$b_port:127.0.0.1")
  if ! wait_ok "$pid_b" "https://localhost:$b_port/" "${tls_args[@]}" \
      --cert "$WORK/a.crt" --key "$WORK/a.key"; then
    log "skip $name: B did not serve a client presenting A's certificate; logs:"
    return 1
  fi
  if [ "$(curl -s --max-time 2 "${tls_args[@]}" "https://localhost:$b_port/" 2>/dev/null)" = "ok" ]; then
    log "skip $name: B served a client WITHOUT a certificate: not an mTLS path"
    return 1
  fi
}

# Logs remora's handshake counters from both admin endpoints: evidence that
# the hop was TLS, and how few handshakes keep-alive (and h2) leave.
remora_tls_counts() {
  local side admin
  for side in a b; do
    admin="$(cat "$WORK/remora-$side-admin" 2>/dev/null || true)"
    [ -n "$admin" ] || continue
    curl -s --max-time 2 "http://$admin/stats" > "$WORK/remora-$side-stats.txt" || true
    log "remora $side: $(grep -E '^remora_tls_handshakes(_resumed)?_total' "$WORK/remora-$side-stats.txt" | tr '\n' ' ')"
  done
}

bench_pair() {
  local name="$1" a_port b_port pid_a pid_b url
  pair_available "$name" || return 0
  a_port="$(helper free-port)"
  b_port="$(helper free-port)"
  start_b "$name" "$b_port"
  pid_b=$STARTED_PID
  if ! check_b_requires_client_cert "$name" "$b_port" "$pid_b"; then
    show_logs "$name"; stop_pid "$pid_b"; return 0
  fi
  start_a "$name" "$a_port" "$b_port"
  pid_a=$STARTED_PID
  url="http://127.0.0.1:$a_port/"
  if ! wait_ok "$pid_a" "$url"; then
    log "skip $name: the path A -> B -> backend did not answer on $url; logs:"
    show_logs "$name"; stop_pid "$pid_a"; stop_pid "$pid_b"; return 0
  fi
  local raw="$WORK/$name-raw.json" idle_a idle_b load_a load_b c0a c0b c1a c1b c2a c2b load_pid
  idle_a="$(helper rss-kb "$pid_a" VmRSS)"
  idle_b="$(helper rss-kb "$pid_b" VmRSS)"
  log "$name: A pid $pid_a on $url, B pid $pid_b on :$b_port (both CPU $PROXY_CPU, hop $HOP);" \
      "idle RSS A ${idle_a} KiB, B ${idle_b} KiB; warming up"
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
versions() {
  echo "- h2load: $(h2load --version 2>&1 | head -n1); backend: $(nginx -v 2>&1 | head -n1)"
  echo "- $(openssl version)"
  command -v haproxy >/dev/null && echo "- haproxy: $(haproxy -v 2>&1 | head -n1)"
  command -v nghttpx >/dev/null && echo "- nghttpx: $(nghttpx --version 2>&1 | head -n1)"
  [ -x "$REMORA_BIN" ] && echo "- remora-proxy: $REMORA_BIN ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown))"
  echo "- machine: $(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)), $(uname -srm); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
report() {
  echo "### mTLS path, run of $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "h2load --h1 -> A -> mTLS ($HOP) -> B -> nginx. Fixed rate: $RATE req/s for ${DURATION}s over $CLIENTS" \
       "connections; saturation: $SAT_CLIENTS connections for ${SAT_DURATION}s. CPU us/req = each proxy's" \
       "utime+stime over the fixed-rate run / succeeded requests; RSS load = VmRSS half way through it."
  echo
  if [ -s "$ROWS" ]; then mtls_helper table "$ROWS"; else echo "No pair was measured."; fi
  echo
  versions
}
report | tee ${OUT:+"$OUT"}
