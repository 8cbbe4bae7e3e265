#!/usr/bin/env bash
# Installs every Debian package that Remora's build, tests and benchmarks need,
# then the xDS test server's node modules (npm ci from the committed lockfile).
# Idempotent and non-interactive: what is present is skipped, so a second run
# costs one dpkg query per package and no network.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # the design card's core
  libuv1-dev libnghttp2-dev libssl-dev catch2
  # messages, control plane, store, logs, flags, YAML
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libcpp-httplib-dev libhttp-parser-dev libsqlite3-dev
  # etcd: the store several remora-cp replicas share (tests run their own
  # members on loopback; etcdctl for backups in docs/operations.md)
  etcd-server etcd-client
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev
  # RE2: route and header regexes, compiled as Envoy does (linear time, no
  # backtracking on request input)
  libre2-dev
  # real clients, servers and peers for integration tests and benchmarks
  curl nghttp2-client nghttp2-proxy nghttp2-server haproxy nginx-light wrk testssl.sh
  python3 procps iproute2 openssl
  # remora-proxy init programs capture rules (iptables-nft; setpriv is util-linux)
  iptables
  # tests/e2e reads the bytes between two pods off the wire
  tshark
  # promtool checks our Prometheus exposition output in unit tests
  prometheus
  # the integration harness reads the xDS test server's JSON (XdsServerProcess)
  nlohmann-json3-dev
)
# Node runs tests/integration/xds_server (an xDS server on Envoy's official
# protos). Debian's nodejs only when there is no node at all: a CI image's
# newer Node (which brings its own npm) is kept, never downgraded.
if ! command -v node >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian starts services on install; tests start their own instances on port 0.
  for svc in haproxy nginx prometheus etcd; do
    if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# Test setup, not the build: the node modules of the xDS test server and of
# the trace collector and of the Kubernetes schema validator
# (tests/integration/k8s_schema), exactly as their committed lockfiles pin them
# (node_modules itself is never committed). Re-run when missing or older
# than the lockfile.
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for NODE_DIR in "$ROOT_DIR/tests/integration/xds_server" "$ROOT_DIR/tests/integration/trace_collector" \
    "$ROOT_DIR/tests/integration/k8s_schema"; do
  if [ ! -d "$NODE_DIR/node_modules" ] || [ "$NODE_DIR/package-lock.json" -nt "$NODE_DIR/node_modules" ]; then
    echo "deps: npm ci in $NODE_DIR"
    npm ci --prefix "$NODE_DIR" --no-audit --no-fund
    touch "$NODE_DIR/node_modules"
  else
    echo "deps: node modules in $NODE_DIR up to date"
  fi
done
echo "deps: done"
