#!/usr/bin/env python3
"""xDS scale benchmark for remora-proxy (loopback only, bounded).

Measures, with the real-proto management server of tests/integration/xds_server:
  1. the proxy's RSS with N clusters from xDS (each an EDS cluster with one
     endpoint and its own virtual host in one RDS route configuration), for
     each N in --counts, and the memory per cluster;
  2. the time from a pushed route update to the first request served by it:
     the control API call starts the clock, and requests poll the listener
     (a route answered by the proxy itself, so no upstream latency is in the
     figure) until the response carries the new route's header.

usage: tests/bench/xds_scale.py [--remora PATH] [--counts 10,100,1000]
                                [--pushes 30] [--out FILE.md]
Every process it starts is stopped by PID at the end. Needs node and the
server's node modules (scripts/deps.sh).
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SERVER_JS = os.path.join(ROOT, "tests", "integration", "xds_server", "server.js")
ECHO_PY = os.path.join(ROOT, "tests", "integration", "backends", "http_echo.py")

CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
CLA = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTES = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"

BOOTSTRAP = """
node: {{id: bench-sidecar, cluster: bench}}
admin: {{address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}}}
dynamic_resources:
  ads_config: {{api_type: GRPC, transport_api_version: V3, grpc_services: [{{envoy_grpc: {{cluster_name: xds}}}}]}}
  lds_config: {{ads: {{}}, resource_api_version: V3}}
  cds_config: {{ads: {{}}, resource_api_version: V3}}
static_resources:
  clusters:
  - name: xds
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {{http2_protocol_options: {{}}}}
    load_assignment:
      cluster_name: xds
      endpoints: [{{lb_endpoints: [{{endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {port}}}}}}}}}]}}]
"""

started = []


def start(args, **kw):
    p = subprocess.Popen(args, **kw)
    started.append(p)
    return p


def stop_all():
    for p in started:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.time() + 5
    for p in started:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()


def wait_file(path, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read().strip()
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + path)


def put(control_port, kind, resources):
    body = json.dumps({"resources": resources}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{control_port}/resources/{kind}", data=body, method="PUT")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["version"]


def resources(n, backend_port, tag):
    clusters = [{"@type": CLUSTER, "name": f"c{i}", "type": "EDS", "connect_timeout": "1s",
                 "eds_cluster_config": {"eds_config": {"ads": {}}}} for i in range(n)]
    clas = [{"@type": CLA, "cluster_name": f"c{i}", "endpoints": [{"lb_endpoints": [{"endpoint": {
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": backend_port}}}}]}]}
        for i in range(n)]
    listener = {"@type": LISTENER, "name": "out", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [{"filters": [{"name": "hcm", "typed_config": {
                    "@type": HCM, "stat_prefix": "out", "rds": {"config_source": {"ads": {}}, "route_config_name": "mesh"},
                    "http_filters": [{"name": "router", "typed_config": {"@type": ROUTER}}]}}]}]}
    return clusters, clas, [listener], [routes(n, tag)]


def routes(n, tag):
    vhosts = [{"name": f"c{i}", "domains": [f"c{i}.svc"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": f"c{i}"}}]}
              for i in range(n)]
    # The probe answers locally, so the push-to-served time is the proxy's
    # config path and not an upstream's latency.
    vhosts.append({"name": "probe", "domains": ["probe.svc"], "routes": [{"match": {"prefix": "/"},
                   "direct_response": {"status": 200},
                   "response_headers_to_add": [{"header": {"key": "x-route-version", "value": tag}}]}]})
    return {"@type": ROUTES, "name": "mesh", "virtual_hosts": vhosts}


def admin_get(admin, path):
    with urllib.request.urlopen(f"http://{admin}{path}", timeout=10) as r:
        return r.status, r.read().decode()


def wait_ready(admin, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if admin_get(admin, "/ready")[0] == 200:
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError("proxy not ready: " + admin_get(admin, "/ready")[1])


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def route_tag(listener, host):
    ip, port = listener.rsplit(":", 1)
    c = http.client.HTTPConnection(ip, int(port), timeout=5)
    try:
        c.request("GET", "/echo", headers={"Host": host})
        r = c.getresponse()
        r.read()
        return r.getheader("x-route-version")
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--remora", default=os.path.join(ROOT, "build", "proxy", "main", "remora-proxy"))
    ap.add_argument("--counts", default="10,100,1000")
    ap.add_argument("--pushes", type=int, default=30)
    ap.add_argument("--out")
    a = ap.parse_args()
    counts = [int(x) for x in a.counts.split(",")]
    tmp = tempfile.mkdtemp(prefix="remora-xds-bench-")
    lines = []
    try:
        start([sys.executable, ECHO_PY, "--port-file", f"{tmp}/echo.port", "--quiet"])
        backend_port = int(wait_file(f"{tmp}/echo.port"))
        rows = []
        push_ms = []
        put_ms = []
        for n in counts:
            start(["node", SERVER_JS, "--port-file", f"{tmp}/xds{n}.json"], stderr=subprocess.DEVNULL)
            ports = json.loads(wait_file(f"{tmp}/xds{n}.json"))
            clusters, clas, listeners, rts = resources(n, backend_port, "0")
            put(ports["control_port"], "clusters", clusters)
            put(ports["control_port"], "endpoints", clas)
            put(ports["control_port"], "listeners", listeners)
            put(ports["control_port"], "routes", rts)
            with open(f"{tmp}/boot{n}.yaml", "w") as f:
                f.write(BOOTSTRAP.format(port=ports["xds_port"]))
            t0 = time.time()
            proxy = start([a.remora, "--config", f"{tmp}/boot{n}.yaml", "--admin-address-path", f"{tmp}/admin{n}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            admin = wait_file(f"{tmp}/admin{n}")
            wait_ready(admin)
            ready_s = time.time() - t0
            listener = json.loads(admin_get(admin, "/listeners")[1])["listeners"][0]["address"]
            assert route_tag(listener, "probe.svc") == "0"
            time.sleep(1.0)
            rss = rss_kb(proxy.pid)
            rows.append((n, rss, ready_s))
            # Push-to-first-request: change the routes, poll until served.
            if n == counts[min(1, len(counts) - 1)]:
                host = "probe.svc"
                for i in range(1, a.pushes + 1):
                    tag = str(i)
                    t = time.perf_counter()
                    put(ports["control_port"], "routes", [routes(n, tag)])
                    put_ms.append((time.perf_counter() - t) * 1000)
                    while route_tag(listener, host) != tag:
                        if time.perf_counter() - t > 10:
                            raise RuntimeError("a pushed route was not served within 10 s")
                    push_ms.append((time.perf_counter() - t) * 1000)
                push_n = n
            proxy.send_signal(signal.SIGTERM)
            proxy.wait(timeout=10)
        lines.append("| clusters | RSS KiB | time to ready s |")
        lines.append("| ---: | ---: | ---: |")
        for n, rss, ready_s in rows:
            lines.append(f"| {n} | {rss} | {ready_s:.2f} |")
        if len(rows) >= 2:
            (n0, r0, _), (n1, r1, _) = rows[0], rows[-1]
            lines.append("")
            lines.append(f"memory per cluster (RSS, {n0} -> {n1} clusters): {(r1 - r0) / (n1 - n0):.1f} KiB "
                         "(one EDS cluster, one endpoint, one virtual host each)")
        if push_ms:
            push_ms.sort()
            p50 = statistics.median(push_ms)
            p90 = push_ms[int(0.9 * (len(push_ms) - 1))]
            lines.append(f"route push to first request served ({push_n} clusters, {len(push_ms)} pushes): "
                         f"p50 {p50:.1f} ms, p90 {p90:.1f} ms, max {push_ms[-1]:.1f} ms "
                         "(includes the management server's encoding and the client's polling)")
            lines.append(f"of which the control API call (JSON to protobuf in the Node server, then the push): "
                         f"p50 {statistics.median(put_ms):.1f} ms")
    finally:
        stop_all()
    text = "\n".join(lines)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
