#!/usr/bin/env bash
# The demo, at this stage of Remora: remora-proxy in front of two instances
# of the sample service, spreading requests between them, answering what it
# cannot route with a reason, and showing its own metrics; then remora-cp
# with its CA configuring sidecars over xDS: mTLS between them with SPIFFE
# certificates bought with join tokens, traffic changed by remoractl while it
# flows, and an authorization policy that refuses a caller with the reason.
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

step "The control plane: remora-cp (SQLite and the mesh CA in $work/cp)"
"$BUILD/control-plane/main/remora-cp" --data-dir "$work/cp" --api-address 127.0.0.1:0 --xds-address 127.0.0.1:0 \
  --api-address-path "$work/cp-api" --xds-address-path "$work/cp-xds" 2>"$work/cp.log" &
pids+=($!)
wait_file "$work/cp-api"; wait_file "$work/cp-xds"
api="http://$(cat "$work/cp-api")"
xds_port=$(sed 's/.*://' "$work/cp-xds")
remoractl() { "$BUILD/control-plane/cli/remoractl" --server "$api" "$@"; }
remoractl ca status

# Two catalog instances on one port number, each on its own loopback address,
# each with a sidecar on its own "pod IP": what two pods look like on one host.
step "The catalog service, two instances (v1, v2), each behind its own sidecar"
catalog_port=$p1
"$BUILD/examples/apps/echo/remora-echo" --name catalog-v2 --listen "127.0.0.2:$catalog_port" \
  --port-file "$work/catalog-v2.port" 2>"$work/catalog-v2.log" &
pids+=($!)
wait_file "$work/catalog-v2.port"
sed -e "s/{{CATALOG_PORT}}/$catalog_port/" examples/demo/mesh.yaml > "$work/mesh.yaml"
remoractl apply -f "$work/mesh.yaml"

# start_sidecar NAME SERVICE FLAG...: buys a certificate with a join token
# for SERVICE's service account, then starts the sidecar from flags (the
# bootstrap it builds: remora-proxy --print-bootstrap); sets $started_admin.
start_sidecar() {
  local name=$1 service=$2
  shift 2
  remoractl token create --namespace default --service-account "$service" --ttl 1h > "$work/$name.token" 2>/dev/null
  "$BUILD/proxy/main/remora-proxy" --control-plane "127.0.0.1:$xds_port" --node-id "$name" --service "$service" \
    --ca-file "$work/cp/ca/bundle.pem" --token-file "$work/$name.token" \
    --admin-address 127.0.0.1:0 --admin-address-path "$work/$name-admin" "$@" \
    >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!)
  wait_file "$work/$name-admin"
  started_admin=$(cat "$work/$name-admin")
  for _ in $(seq 1 200); do curl -sf "http://$started_admin/ready" >/dev/null && return 0; sleep 0.05; done
  echo "demo: sidecar $name is not ready: $(curl -s "http://$started_admin/ready")" >&2
}
start_sidecar catalog-v1 catalog --pod-ip 127.0.1.1 --app-ports "$catalog_port" \
  --inbound-address "127.0.1.1:$catalog_port" --outbound-address 127.0.0.1:0 --app-address 127.0.0.1 --label version=v1
catalog_v1_admin=$started_admin
start_sidecar catalog-v2 catalog --pod-ip 127.0.1.2 --app-ports "$catalog_port" \
  --inbound-address "127.0.1.2:$catalog_port" --outbound-address 127.0.0.1:0 --app-address 127.0.0.2 --label version=v2
catalog_v2_admin=$started_admin

step "The frontend's sidecar (a client: it calls catalog)"
# A client only: no app ports, so it registers no endpoint.
start_sidecar frontend frontend --pod-ip 127.0.0.1 --outbound-address 127.0.0.1:0 --inbound-address 127.0.0.1:0
sidecar_admin=$started_admin
outbound=$(curl -s "http://$sidecar_admin/listeners" | grep -o '"name":"outbound","address":"[^"]*"' | sed 's/.*"address":"//; s/"$//')
echo "remora-cp API on $api; the frontend sidecar's outbound listener on $outbound"
remoractl identity

step "Through the frontend's sidecar: catalog:8080 over mTLS, spread over v1 and v2"
for _ in 1 2 3 4; do
  curl -s -D - -o /dev/null "http://$outbound/" -H 'host: catalog:8080' | tr -d '\r' | grep -i '^x-served-by' || true
done
echo "handshakes verified by the catalog sidecars (both ends present SPIFFE certificates):"
curl -s "http://$catalog_v1_admin/stats" "http://$catalog_v2_admin/stats" | grep 'remora_tls_handshakes_total{direction="inbound"' || true

step "remoractl apply a RouteRule: every request goes to v2"
remoractl apply -f examples/demo/canary.yaml
sleep 0.5  # one push (100 ms debounce) reaches the sidecar well within this
for _ in 1 2 3 4; do
  curl -s -D - -o /dev/null "http://$outbound/" -H 'host: catalog:8080' | tr -d '\r' | grep -i '^x-served-by' || true
done

step "remoractl delete it: back to both"
remoractl delete routerule catalog-canary
sleep 0.5
for _ in 1 2 3 4; do
  curl -s -D - -o /dev/null "http://$outbound/" -H 'host: catalog:8080' | tr -d '\r' | grep -i '^x-served-by' || true
done

step "An AuthorizationPolicy that admits only 'default/checkout': the frontend gets 403, and why"
printf 'kind: AuthorizationPolicy\nmetadata: {name: catalog-callers}\nspec: {service: catalog, allow: [{principals: [default/checkout]}]}\n' \
  > "$work/policy.yaml"
remoractl apply -f "$work/policy.yaml"
sleep 0.5
curl -s -i "http://$outbound/" -H 'host: catalog:8080' | tr -d '\r' | grep -iE '^HTTP|^x-remora-error|spiffe' || true
remoractl delete authorizationpolicy catalog-callers
sleep 0.5

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
  $BUILD/control-plane/cli/remoractl --server $api identity     # workloads and their certificates
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
