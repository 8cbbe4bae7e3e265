#!/usr/bin/env bash
# The demo, at this stage of Remora: remora-proxy in front of two instances
# of the sample service, spreading requests between them, answering what it
# cannot route with a reason, and showing its own metrics; then remora-cp
# configuring a sidecar over xDS, changed by remoractl while traffic flows.
#
#   examples/demo/run.sh [--keep]     (--keep leaves everything running)
#
# Everything binds 127.0.0.1 port 0; everything started is stopped on exit
# (or Ctrl-C), by PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${REMORA_BUILD_DIR:-build}
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1

work=$(mktemp -d /tmp/remora-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_file() {
  for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.05; done
  echo "demo: $1 did not appear" >&2
  return 1
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Starting two instances of the sample service (examples/apps/echo)"
for i in 1 2; do
  "$BUILD/examples/apps/echo/remora-echo" --name "catalog-$i" --port-file "$work/catalog-$i.port" \
    2>"$work/catalog-$i.log" &
  pids+=($!)
done
wait_file "$work/catalog-1.port"; wait_file "$work/catalog-2.port"
p1=$(cat "$work/catalog-1.port"); p2=$(cat "$work/catalog-2.port")
echo "catalog-1 on 127.0.0.1:$p1, catalog-2 on 127.0.0.1:$p2"

step "Starting remora-proxy in front of them"
sed -e "s/{{CATALOG_1}}/$p1/" -e "s/{{CATALOG_2}}/$p2/" examples/demo/bootstrap.yaml > "$work/bootstrap.yaml"
"$BUILD/proxy/main/remora-proxy" validate "$work/bootstrap.yaml"
"$BUILD/proxy/main/remora-proxy" --config "$work/bootstrap.yaml" --admin-address-path "$work/admin" \
  2>"$work/proxy.log" &
pids+=($!)
wait_file "$work/admin"
admin=$(cat "$work/admin")
proxy=$(curl -s "http://$admin/listeners" | sed -n 's/.*"address":"\([^"]*\)".*/\1/p')
echo "proxy listening on $proxy, admin on $admin"

step "Six requests through the proxy: round robin across both instances"
for _ in 1 2 3 4 5 6; do
  curl -s -D - -o /dev/null "http://$proxy/" -H 'host: catalog' | tr -d '\r' | grep -i '^x-served-by' || true
done

step "The same over HTTP/2 (prior knowledge), to the same HTTP/1.1 services"
curl -s --http2-prior-knowledge "http://$proxy/" -H 'host: catalog'

step "A host the proxy has no route for: it says why"
curl -s -i "http://$proxy/" -H 'host: unknown.example' | tr -d '\r'

step "A route whose upstream is down: 503 with the reason"
curl -s -i "http://$proxy/" -H 'host: broken' | tr -d '\r'

step "The proxy's own metrics (Prometheus format, excerpt)"
curl -s "http://$admin/stats/prometheus" | grep -E '^remora_(downstream_requests_total|upstream_requests_total|local_replies_total)' || true

step "The control plane: remora-cp (SQLite in $work/cp) and a sidecar it configures over xDS"
"$BUILD/control-plane/main/remora-cp" --data-dir "$work/cp" --api-address 127.0.0.1:0 --xds-address 127.0.0.1:0 \
  --api-address-path "$work/cp-api" --xds-address-path "$work/cp-xds" 2>"$work/cp.log" &
pids+=($!)
wait_file "$work/cp-api"; wait_file "$work/cp-xds"
api="http://$(cat "$work/cp-api")"
xds_port=$(sed 's/.*://' "$work/cp-xds")
sed -e "s/{{XDS_PORT}}/$xds_port/" examples/demo/sidecar.yaml > "$work/sidecar.yaml"
"$BUILD/proxy/main/remora-proxy" --config "$work/sidecar.yaml" --admin-address-path "$work/sidecar-admin" \
  2>"$work/sidecar.log" &
pids+=($!)
wait_file "$work/sidecar-admin"
sidecar_admin=$(cat "$work/sidecar-admin")
for _ in $(seq 1 100); do curl -sf "http://$sidecar_admin/ready" >/dev/null && break; sleep 0.05; done
outbound=$(curl -s "http://$sidecar_admin/listeners" | grep -o '"name":"outbound","address":"[^"]*"' | sed 's/.*"address":"//; s/"$//')
echo "remora-cp API on $api; the sidecar's outbound listener on $outbound"
remoractl() { "$BUILD/control-plane/cli/remoractl" --server "$api" "$@"; }

step "remoractl apply: the catalog service and its two instances (v1, v2)"
sed -e "s/{{CATALOG_1}}/$p1/" -e "s/{{CATALOG_2}}/$p2/" examples/demo/mesh.yaml > "$work/mesh.yaml"
remoractl apply -f "$work/mesh.yaml"
sleep 0.5  # one push (100 ms debounce) reaches the sidecar well within this
remoractl get services
remoractl get endpoints

step "Through the sidecar: catalog:8080 now resolves, spread over v1 and v2"
for _ in 1 2 3 4; do
  curl -s -D - -o /dev/null "http://$outbound/" -H 'host: catalog:8080' | tr -d '\r' | grep -i '^x-served-by' || true
done

step "remoractl apply a RouteRule: every request goes to v2"
remoractl apply -f examples/demo/canary.yaml
sleep 0.5
for _ in 1 2 3 4; do
  curl -s -D - -o /dev/null "http://$outbound/" -H 'host: catalog:8080' | tr -d '\r' | grep -i '^x-served-by' || true
done

step "remoractl delete it: back to both"
remoractl delete routerule catalog-canary
sleep 0.5
for _ in 1 2 3 4; do
  curl -s -D - -o /dev/null "http://$outbound/" -H 'host: catalog:8080' | tr -d '\r' | grep -i '^x-served-by' || true
done

step "remoractl proxy-status: what each sidecar was sent and ACKed"
remoractl proxy-status

step "A bad object is refused with the field that is wrong, and nothing is stored"
printf 'kind: Service\nmetadata: {name: broken}\nspec: {ports: [{port: 70000}]}\n' > "$work/bad.yaml"
remoractl apply -f "$work/bad.yaml" || true

cat <<EOT

What to try next:
  curl -s http://$admin/                     # the admin endpoints
  curl -s http://$admin/stats                # every counter
  curl -s http://$admin/config_dump          # the running configuration
  $BUILD/control-plane/cli/remoractl --server $api get services -o yaml
  curl -s $api/metrics                       # the control plane's metrics
EOT
if [ "$KEEP" = 1 ]; then
  echo
  echo "--keep: the demo keeps running (proxy on $proxy, admin on $admin). Ctrl-C stops it."
  trap - INT TERM
  trap 'exit 0' INT TERM
  while true; do sleep 3600; done
fi
echo
echo "demo: done"
