# shellcheck shell=bash
# The two-sidecar mTLS path, shared by tests/bench/mtls_path.sh and
# tests/bench/report.sh: certificates, the nginx backend, and starting,
# checking and stopping one pair of proxies (remora, haproxy or nghttpx):
#
#   client -> proxy A (plain in; TLS out with a client certificate, verifying
#   B) -> proxy B (TLS in, client certificate required and verified) -> nginx
#
# Source it after bench_lib.sh. The caller sets HERE (tests/bench), WORK,
# REMORA_BIN, HOP (h2 or http/1.1), PROXY_CPU, LOAD_CPU and defines helper()
# (bench_helper.py) and log(). Every process goes through start_on, so
# bench_lib.sh's cleanup stops exactly those PIDs.
CLIENT_ID="spiffe://cluster.local/ns/bench/sa/client"
SERVER_ID="spiffe://cluster.local/ns/bench/sa/server"

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

# h2load_run LABEL TIMEOUT_S ARGS...: h2load --h1 on the load CPU with a hard
# timeout; output in $WORK/LABEL.out.
h2load_run() {
  local label="$1" limit="$2"
  shift 2
  timeout --signal=KILL "$limit" taskset -c "$LOAD_CPU" h2load --h1 -t 1 "$@" > "$WORK/$label.out" 2>&1 || \
    log "h2load $label ended with status $? (see its output with --keep)"
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

# --- the backend --------------------------------------------------------------
# start_backend: nginx answering "ok" on the load CPU; sets BACKEND_PORT and
# BACKEND_PID, exits the script when it does not come up.
start_backend() {
  BACKEND_PORT="$(helper free-port)"
  helper render "$HERE/nginx-backend.conf.in" "$WORK/nginx-backend.conf" "DIR=$WORK" "BACKEND_PORT=$BACKEND_PORT"
  start_on "$LOAD_CPU" nginx-backend nginx -p "$WORK" -e "$WORK/nginx-backend.stderr" -c "$WORK/nginx-backend.conf"
  BACKEND_PID=$STARTED_PID
  if ! wait_ok "$BACKEND_PID" "http://127.0.0.1:$BACKEND_PORT/"; then
    echo "the nginx backend did not start:" >&2
    cat "$WORK/nginx-backend.log" "$WORK/nginx-backend.stderr" >&2 2>/dev/null || true
    exit 1
  fi
  log "backend: nginx pid $BACKEND_PID on 127.0.0.1:$BACKEND_PORT (CPU $LOAD_CPU)"
}

# --- one pair -------------------------------------------------------------------
# start_b NAME B_PORT / start_a NAME A_PORT B_PORT: start one side on the
# proxy CPU and set STARTED_PID.
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

# start_pair NAME: starts B, proves it requires a client certificate, starts
# A and waits for "ok" through A -> B -> backend. Sets PAIR_PID_A, PAIR_PID_B
# and PAIR_URL (A's plain listener); returns 1 (with logs) when the pair is
# skipped, having stopped whatever it started.
start_pair() {
  local name="$1" a_port b_port
  pair_available "$name" || return 1
  a_port="$(helper free-port)"
  b_port="$(helper free-port)"
  start_b "$name" "$b_port"
  PAIR_PID_B=$STARTED_PID
  if ! check_b_requires_client_cert "$name" "$b_port" "$PAIR_PID_B"; then
    show_logs "$name"; stop_pid "$PAIR_PID_B"; return 1
  fi
  start_a "$name" "$a_port" "$b_port"
  PAIR_PID_A=$STARTED_PID
  PAIR_URL="http://127.0.0.1:$a_port/"
  if ! wait_ok "$PAIR_PID_A" "$PAIR_URL"; then
    log "skip $name: the path A -> B -> backend did not answer on $PAIR_URL; logs:"
    show_logs "$name"; stop_pid "$PAIR_PID_A"; stop_pid "$PAIR_PID_B"; return 1
  fi
  log "$name: A pid $PAIR_PID_A on $PAIR_URL, B pid $PAIR_PID_B on :$b_port (both CPU $PROXY_CPU, hop $HOP)"
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

# Tool versions and the machine, as Markdown list items.
bench_versions() {
  echo "- machine: $(nproc) CPUs ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)), $(uname -srm)"
  echo "- h2load: $(h2load --version 2>&1 | head -n1); backend: $(nginx -v 2>&1 | head -n1)"
  echo "- $(openssl version)"
  command -v haproxy >/dev/null && echo "- haproxy: $(haproxy -v 2>&1 | head -n1)"
  command -v nghttpx >/dev/null && echo "- nghttpx: $(nghttpx --version 2>&1 | head -n1)"
  [ -x "$REMORA_BIN" ] && echo "- remora-proxy: $REMORA_BIN (built $(date -u -r "$REMORA_BIN" '+%Y-%m-%d %H:%M UTC'); tree at commit $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo unknown) when the report was written)"
  return 0
}
