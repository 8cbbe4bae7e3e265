#!/usr/bin/env python3
"""Remora's demo mesh: a frontend calling catalog (three instances) and
ratings (v1 and v2, split 90/10), every instance behind its own sidecar,
configured and secured by remora-cp (mTLS with SPIFFE certificates, retries,
outlier ejection, tracing). Steady traffic runs while a short story of faults
plays; a live table shows what the callers see. At the end: a summary, one
trace as a waterfall, and what to try next.

  examples/demo/run.sh [--keep] [--quick] [--plain] [--summary-json FILE]

Everything binds loopback (127.0.0.1 and a few 127.0.x.y "pod" addresses)
on ports the kernel picks; everything started is stopped, by PID, on exit or
Ctrl-C, and its temporary directory removed. Python standard library only.
"""

import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import http.client
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "examples", "demo")

CATALOG = ["catalog-1", "catalog-2", "catalog-3"]
RATINGS = ["ratings-v1", "ratings-v2"]
# "Pod" addresses: the app of instance i listens on 127.0.2.i, its sidecar's
# inbound listener on 127.0.1.i, both on the service's target port.
POD = {"catalog-1": 1, "catalog-2": 2, "catalog-3": 3, "ratings-v1": 11, "ratings-v2": 12, "frontend": 20}


class DemoError(Exception):
    pass


def log(msg):
    print("demo: " + msg, file=sys.stderr, flush=True)


def http_get(url, timeout=2.0, method="GET", data=None):
    req = urllib.request.Request(url, method=method, data=data)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read().decode(errors="replace")


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except (OSError, ValueError, http.client.HTTPException) as e:
            last = e
        time.sleep(0.05)
    raise DemoError("%s did not happen within %.0f s%s" % (what, timeout, " (last error: %s)" % last if last else ""))


def read_file_when_ready(path, timeout=10.0):
    def ready():
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read().strip()
        return None
    return wait_for(os.path.basename(path) + " to be written", ready, timeout)


# ---- processes ------------------------------------------------------------

class Processes:
    """Everything the demo starts, stopped by PID."""

    def __init__(self, work):
        self.work = work
        self.procs = {}

    def start(self, name, argv):
        for stale in (name + ".port", name + ".admin"):
            if os.path.exists(os.path.join(self.work, stale)):
                os.unlink(os.path.join(self.work, stale))
        out = open(os.path.join(self.work, name + ".log"), "wb")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        out.close()
        self.procs[name] = proc
        return proc

    def check_alive(self, name):
        proc = self.procs[name]
        if proc.poll() is not None:
            raise DemoError("%s exited with %s; its log:\n%s" % (name, proc.returncode, self.tail(name)))

    def check_all_alive(self):
        """Every process still running: a sidecar that crashed fails the demo, with its log."""
        for name in list(self.procs):
            self.check_alive(name)

    def tail(self, name, lines=15):
        try:
            with open(os.path.join(self.work, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self, name, sig=signal.SIGKILL):
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


# ---- the mesh -------------------------------------------------------------

class Mesh:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        build = os.path.abspath(args.build)
        self.bin = {
            "proxy": os.path.join(build, "proxy/main/remora-proxy"),
            "cp": os.path.join(build, "control-plane/main/remora-cp"),
            "ctl": os.path.join(build, "control-plane/cli/remoractl"),
            "echo": os.path.join(build, "examples/apps/echo/remora-echo"),
        }
        for name, path in self.bin.items():
            if not os.access(path, os.X_OK):
                raise DemoError("%s is not built (%s); scripts/demo.sh builds it" % (name, path))
        self.procs = Processes(work)
        self.admin = {}
        self.app_port = {}

    def path(self, name):
        return os.path.join(self.work, name)

    def remoractl(self, *argv, check=True):
        result = subprocess.run([self.bin["ctl"], "--server", self.api] + list(argv), capture_output=True, text=True,
                                timeout=30)
        if check and result.returncode != 0:
            raise DemoError("remoractl %s failed: %s" % (" ".join(argv), (result.stderr or result.stdout).strip()))
        return result.stdout

    def start_collector(self):
        self.procs.start("traces", [sys.executable, os.path.join(HERE, "traces.py"), "serve", "--listen",
                                    "127.0.0.1:0", "--address-file", self.path("traces.addr")])
        self.collector = read_file_when_ready(self.path("traces.addr"))

    def start_control_plane(self):
        self.procs.start("remora-cp", [
            self.bin["cp"], "--data-dir", self.path("cp"), "--api-address", "127.0.0.1:0", "--xds-address",
            "127.0.0.1:0", "--api-address-path", self.path("cp-api"), "--xds-address-path", self.path("cp-xds"),
            "--tracing-collector", "zipkin://" + self.collector,
            # A killed pod leaves the mesh 2 s after its stream broke (default 10 s),
            # so the story does not wait for it.
            "--endpoint-grace-period", "2s"])
        self.api = "http://" + read_file_when_ready(self.path("cp-api"))
        self.xds = read_file_when_ready(self.path("cp-xds"))

    def start_app(self, name, port):
        ip = "127.0.2.%d" % POD[name]
        self.procs.start(name, [self.bin["echo"], "--name", name, "--listen", "%s:%d" % (ip, port),
                                "--port-file", self.path(name + ".port")])
        bound = int(read_file_when_ready(self.path(name + ".port")))
        self.app_port[name] = bound
        return bound

    def start_sidecar(self, name, service, version=None, port=None):
        token = self.remoractl("token", "create", "--namespace", "default", "--service-account", service, "--ttl", "1h")
        with open(self.path(name + ".token"), "w") as f:
            f.write(token)
        pod_ip = "127.0.1.%d" % POD[name]
        argv = [self.bin["proxy"], "--control-plane", self.xds, "--node-id", name, "--service", service,
                "--ca-file", self.path("cp/ca/bundle.pem"), "--token-file", self.path(name + ".token"),
                "--admin-address", "127.0.0.1:0", "--admin-address-path", self.path(name + "-sidecar.admin"),
                "--pod-ip", pod_ip, "--outbound-address", "127.0.0.1:0",
                # A sidecar drains for this long on SIGTERM; the demo's stop need not wait 5 s.
                "--drain-time-ms", "1000"]
        if port is None:  # a client only: registers no endpoint
            argv += ["--inbound-address", pod_ip + ":0"]
        else:
            argv += ["--app-ports", str(port), "--inbound-address", "%s:%d" % (pod_ip, port),
                     "--app-address", "127.0.2.%d" % POD[name], "--label", "version=" + version]
        self.procs.start(name + "-sidecar", argv)
        self.admin[name] = read_file_when_ready(self.path(name + "-sidecar.admin"))

    def wait_ready(self, name, timeout=20):
        def ready():
            self.procs.check_alive(name + "-sidecar")
            try:
                return http_get("http://%s/ready" % self.admin[name], timeout=1)[0] == 200
            except urllib.error.HTTPError:
                return False
        try:
            wait_for("sidecar %s to be ready" % name, ready, timeout)
        except DemoError as e:
            try:
                why = urllib.request.urlopen("http://%s/ready" % self.admin[name], timeout=1).read().decode()
            except urllib.error.HTTPError as h:
                why = h.read().decode(errors="replace")
            except OSError as o:
                why = str(o)
            raise DemoError("%s: %s" % (e, why.strip()))

    def outbound_address(self):
        _, body = http_get("http://%s/listeners" % self.admin["frontend"])
        for listener in json.loads(body).get("listeners", []):
            if listener.get("name") == "outbound":
                return listener["address"]
        raise DemoError("the frontend's sidecar has no outbound listener: " + body)

    def start_catalog_instance(self, name):
        self.start_app(name, self.catalog_port)
        self.start_sidecar(name, "catalog", "v1", self.catalog_port)

    def kill_instance(self, name):
        """A pod dies: its sidecar and its app, at once."""
        self.procs.kill(name + "-sidecar")
        self.procs.kill(name)

    def fault(self, name, query):
        url = "http://127.0.2.%d:%d/fault%s" % (POD[name], self.app_port[name], query)
        status, _ = http_get(url, method="POST", data=b"")
        if status != 200:
            raise DemoError("%s refused the fault %s" % (name, query))

    def up(self, say):
        self.start_collector()
        say("trace collector (Zipkin v2) on %s" % self.collector)
        self.start_control_plane()
        say("remora-cp: API %s, xDS %s (SQLite and the mesh CA in a temporary directory)" % (self.api, self.xds))
        # The catalog's target port is whatever the kernel gives catalog-1;
        # the other instances take the same number on their own address.
        self.catalog_port = self.start_app("catalog-1", 0)
        self.ratings_port = self.start_app("ratings-v1", 0)
        with open(os.path.join(HERE, "mesh.yaml")) as f:
            mesh = f.read().replace("{{CATALOG_PORT}}", str(self.catalog_port)).replace(
                "{{RATINGS_PORT}}", str(self.ratings_port))
        with open(self.path("mesh.yaml"), "w") as f:
            f.write(mesh)
        self.remoractl("apply", "-f", self.path("mesh.yaml"))
        say("remoractl apply -f examples/demo/mesh.yaml: services catalog and ratings, a TrafficPolicy "
            "(retries, outlier ejection) and a RouteRule (ratings v1 90 %, v2 10 %)")
        for name in CATALOG[1:]:
            self.start_app(name, self.catalog_port)
        self.start_app("ratings-v2", self.ratings_port)
        for name in CATALOG:
            self.start_sidecar(name, "catalog", "v1", self.catalog_port)
        self.start_sidecar("ratings-v1", "ratings", "v1", self.ratings_port)
        self.start_sidecar("ratings-v2", "ratings", "v2", self.ratings_port)
        self.start_sidecar("frontend", "frontend")
        for name in CATALOG + RATINGS + ["frontend"]:
            self.wait_ready(name)
        say("6 sidecars ready, each with a SPIFFE certificate bought with a join token; "
            "all traffic between them is mTLS")
        self.outbound = self.outbound_address()
        # Every instance reachable through the frontend's sidecar before the story starts.
        for service, names in (("catalog", CATALOG), ("ratings", RATINGS)):
            seen = set()

            def all_seen():
                status, served = probe(self.outbound, service)
                if status == 200:
                    seen.add(served)
                return seen >= set(names)
            wait_for("%s to be reachable at all its instances" % service, all_seen, 20)


def probe(outbound, service):
    conn = http.client.HTTPConnection(outbound, timeout=2)
    try:
        conn.request("GET", "/", headers={"host": service + ":8080"})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("x-served-by")
    finally:
        conn.close()


# ---- load and measurements ----------------------------------------------

Sample = collections.namedtuple("Sample", "t service ok latency_ms served_by reason")


class Load:
    """Steady GETs through the frontend's sidecar, as the frontend app would
    make them: `rate` per second per service, over keep-alive connections."""

    def __init__(self, outbound, rates, stop):
        self.outbound = outbound
        self.rates = rates
        self.stop = stop
        self.samples = []
        self.lock = threading.Lock()
        self.threads = []

    def start(self):
        for service, rate in self.rates.items():
            workers = max(2, rate // 5)  # enough that a slow answer does not lower the rate
            for i in range(workers):
                t = threading.Thread(target=self.run, args=(service, workers / float(rate), i), daemon=True)
                t.start()
                self.threads.append(t)

    def run(self, service, interval, index):
        conn = None
        next_at = time.monotonic() + interval * index / 4.0
        while not self.stop.is_set():
            now = time.monotonic()
            if next_at > now:
                self.stop.wait(next_at - now)
                continue
            next_at += interval
            if next_at < now - 1:  # fell behind (a slow answer): do not burst to catch up
                next_at = now + interval
            start = time.monotonic()
            served = reason = None
            ok = False
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.outbound, timeout=5)
                conn.request("GET", "/", headers={"host": service + ":8080"})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
                served = r.getheader("x-served-by")
                if not ok:
                    why = r.getheader("x-remora-error")
                    reason = "%d x-remora-error: %s" % (r.status, why) if why else "%d from the app" % r.status
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                reason = "client: " + type(e).__name__
                if conn is not None:
                    conn.close()
                conn = None
            sample = Sample(time.time(), service, ok, (time.monotonic() - start) * 1000.0, served, reason)
            with self.lock:
                self.samples.append(sample)
        if conn is not None:
            conn.close()

    def since(self, t0, t1=None):
        with self.lock:
            return [s for s in self.samples if s.t >= t0 and (t1 is None or s.t < t1)]


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    rank = max(0, min(len(values) - 1, int(round(p / 100.0 * len(values) + 0.5)) - 1))
    return values[rank]


def stats_of(samples):
    out = {}
    for service in ("catalog", "ratings"):
        mine = [s for s in samples if s.service == service]
        ok = [s for s in mine if s.ok]
        lat = [s.latency_ms for s in mine]
        served = collections.Counter(s.served_by for s in ok)
        reasons = collections.Counter(s.reason for s in mine if not s.ok)
        out[service] = {
            "requests": len(mine), "succeeded": len(ok),
            "success_rate": (100.0 * len(ok) / len(mine)) if mine else 100.0,
            "p50_ms": round(percentile(lat, 50), 2), "p99_ms": round(percentile(lat, 99), 2),
            "served_by": dict(served), "failures": dict(reasons),
        }
    return out


PROM_LINE = re.compile(r'^([a-z_]+)\{([^}]*)\} ([0-9.eE+-]+)$')


class SidecarWatch:
    """What the frontend's sidecar did: retries and ejections per service
    (its Prometheus metrics) and which hosts are ejected now (/clusters)."""

    def __init__(self, admin):
        self.admin = admin

    def metrics(self):
        _, text = http_get("http://%s/stats/prometheus" % self.admin)
        out = collections.defaultdict(float)
        for line in text.splitlines():
            m = PROM_LINE.match(line)
            if not m or m.group(1) not in ("remora_upstream_retries_total", "remora_outlier_ejections_total"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            service = cluster_service(labels.get("cluster", ""))
            if service:
                out[(m.group(1), service)] += float(m.group(3))
        return out

    def hosts(self):
        """{service: {host address: None, or the reason it is outlier-ejected}}:
        the endpoints the frontend's sidecar has for each service now."""
        _, body = http_get("http://%s/clusters" % self.admin)
        out = collections.defaultdict(dict)
        for cluster in json.loads(body).get("clusters", []):
            service = cluster_service(cluster.get("name", ""))
            if service is None or cluster.get("name", "").split("|")[2]:
                continue  # subset clusters (outbound|8080|v2|ratings.default) repeat the service's hosts
            for host in cluster.get("hosts", []):
                ejected = "outlier_ejected" in host.get("flags", [])
                out[service][host.get("address")] = host.get("reason", "ejected") if ejected else None
        return out


def cluster_service(cluster):
    # outbound|8080||catalog.default, outbound|8080|v2|ratings.default
    parts = cluster.split("|")
    if len(parts) == 4 and parts[0] == "outbound":
        return parts[3].split(".")[0]
    return None


def instance_of(address):
    ip = address.rsplit(":", 1)[0]
    for name, n in POD.items():
        if ip == "127.0.1.%d" % n:
            return name
    return address


# ---- the view -------------------------------------------------------------

class View:
    def __init__(self, plain, color):
        self.plain = plain
        self.color = color
        self.events = collections.deque(maxlen=6)
        self.start = time.time()
        self.last_plain = 0.0
        self.drawn = False

    def bold(self, s):
        return "\033[1m%s\033[0m" % s if self.color else s

    def colored(self, s, good):
        if not self.color:
            return s
        return "\033[%sm%s\033[0m" % ("32" if good else "31", s)

    def event(self, text):
        stamp = "%5.1fs" % (time.time() - self.start)
        self.events.append("%s  %s" % (stamp, text))
        if self.plain:
            print("  %s  %s" % (stamp, text), flush=True)

    def render(self, phase_index, phases, phase_elapsed, window, totals, ejected, retries_rate, instances):
        name, seconds = phases[phase_index][0], phases[phase_index][1]
        if self.plain:
            if time.monotonic() - self.last_plain < 2.0:
                return
            self.last_plain = time.monotonic()
            parts = []
            for service in ("catalog", "ratings"):
                w = window[service]
                parts.append("%s %5.1f%% ok p50 %.1f ms p99 %.1f ms retries/s %.1f" % (
                    service, w["success_rate"], w["p50_ms"], w["p99_ms"], retries_rate.get(service, 0.0)))
            print("  [%d/%d %s] %s | %s" % (phase_index + 1, len(phases), name, " | ".join(parts), ", ".join(instances)),
                  flush=True)
            return
        done = min(1.0, phase_elapsed / seconds)
        bar = "#" * int(done * 30) + "." * (30 - int(done * 30))
        lines = [self.bold("Remora demo mesh") + "   frontend -> catalog (3 instances), "
                 "ratings (v1/v2)   mTLS, retries, outlier ejection, tracing on", ""]
        lines.append("story: step %d of %d  [%s]  %s" % (phase_index + 1, len(phases), bar, self.bold(name)))
        lines.append("")
        lines.append("%-9s %9s %9s %9s %9s %10s %10s   %s" % ("service", "req/s", "success", "p50 ms", "p99 ms",
                                                            "retries/s", "ejected", "answered by (last 5 s)"))
        for service in ("catalog", "ratings"):
            w = window[service]
            rate = w["requests"] / 5.0
            ok = w["success_rate"] >= 99.9
            served = ", ".join("%s %d%%" % (k, round(100.0 * v / max(1, w["succeeded"])))
                               for k, v in sorted(w["served_by"].items()))
            lines.append("%-9s %9.1f %9s %9.1f %9.1f %10.1f %10d   %s" % (
                service, rate, self.colored("%8.2f%%" % w["success_rate"], ok), w["p50_ms"], w["p99_ms"],
                retries_rate.get(service, 0.0), len(ejected.get(service, {})), served))
        lines.append("")
        lines.append("instances: " + "   ".join(instances))
        lines.append("")
        t = totals
        lines.append("since the start: catalog %d requests, %.3f%% ok; ratings %d requests, %.3f%% ok" % (
            t["catalog"]["requests"], t["catalog"]["success_rate"], t["ratings"]["requests"],
            t["ratings"]["success_rate"]))
        lines.append("")
        lines.append(self.bold("events"))
        lines.extend("  " + e for e in self.events)
        lines.append("")
        lines.append("Ctrl-C stops the demo and everything it started.")
        # Home, each line cleared to its end, then the rest of the screen: no flicker.
        first = "\033[2J" if not self.drawn else ""
        self.drawn = True
        sys.stdout.write(first + "\033[H" + "".join(line + "\033[K\n" for line in lines) + "\033[J")
        sys.stdout.flush()


# ---- the story ------------------------------------------------------------

def story(mesh, seconds):
    """(title, seconds, action) in order; each action runs at its step's start."""
    def kill():
        mesh.kill_instance("catalog-3")
        return "catalog-3's pod is killed (app and sidecar, SIGKILL)"

    def restart_and_slow():
        mesh.start_catalog_instance("catalog-3")
        mesh.wait_ready("catalog-3")
        mesh.fault("catalog-2", "?latency=400")
        return "catalog-3 is back (new pod, registered by its sidecar); catalog-2 turns slow: +400 ms"

    def flaky():
        mesh.fault("catalog-2", "/clear")
        mesh.fault("catalog-1", "?fail=0.5&status=503")
        return "catalog-2 recovers; catalog-1 now fails half its requests with 503"

    def shift():
        mesh.fault("catalog-1", "/clear")
        mesh.remoractl("apply", "-f", os.path.join(HERE, "ratings-v2.yaml"))
        return "catalog-1 recovers; remoractl apply -f ratings-v2.yaml: ratings 100 % to v2"

    return [
        ("steady traffic", seconds, lambda: "steady traffic: catalog and ratings, every instance healthy"),
        ("an instance dies", seconds, kill),
        ("an instance is slow", seconds, restart_and_slow),
        ("an instance fails half its requests", seconds, flaky),
        ("traffic shift: ratings v2", seconds, shift),
    ]


def run_story(mesh, args, view):
    stop = threading.Event()
    rates = {"catalog": args.rate, "ratings": max(10, args.rate // 2)}
    load = Load(mesh.outbound, rates, stop)
    watch = SidecarWatch(mesh.admin["frontend"])
    phases = story(mesh, args.phase_seconds)
    results = []
    ejection_events = []
    load.start()
    t_start = time.time()
    last_metrics = watch.metrics()
    last_metrics_at = time.monotonic()
    retries_rate = {}
    seen_hosts = watch.hosts()
    try:
        for index, (title, seconds, action) in enumerate(phases):
            phase_start = time.time()
            view.event(view.bold(action()))
            action_done = time.time()
            metrics_at_start = watch.metrics()
            while time.time() - phase_start < seconds:
                time.sleep(0.5 if view.plain else 0.25)
                now = time.monotonic()
                metrics = watch.metrics()
                if now - last_metrics_at >= 1.0:
                    for service in ("catalog", "ratings"):
                        key = ("remora_upstream_retries_total", service)
                        retries_rate[service] = (metrics[key] - last_metrics[key]) / (now - last_metrics_at)
                    last_metrics, last_metrics_at = metrics, now
                hosts = watch.hosts()
                ejected = {svc: {a: r for a, r in h.items() if r is not None} for svc, h in hosts.items()}
                for service, now_hosts in hosts.items():
                    before = seen_hosts.get(service)
                    for address, reason in now_hosts.items():
                        if before is not None and address not in before:
                            view.event("%s joined %s's endpoints (its sidecar registered it)" % (
                                instance_of(address), service))
                        if reason is not None and (before or {}).get(address) is None:
                            view.event("%s ejected by the frontend's sidecar: %s" % (instance_of(address), reason))
                            ejection_events.append({"service": service, "instance": instance_of(address),
                                                    "reason": reason, "at_s": round(time.time() - t_start, 2)})
                        if reason is None and before is not None and before.get(address) is not None:
                            view.event("%s is back in rotation (ejection over)" % instance_of(address))
                    for address in (before or {}):
                        if address not in now_hosts:
                            view.event("%s left %s's endpoints (remora-cp withdrew it)" % (
                                instance_of(address), service))
                seen_hosts = hosts
                window = stats_of(load.since(time.time() - 5))
                totals = stats_of(load.since(t_start))
                instances = []
                for name in CATALOG + RATINGS:
                    address = "127.0.1.%d:%d" % (POD[name], mesh.catalog_port if name in CATALOG else mesh.ratings_port)
                    service = "catalog" if name in CATALOG else "ratings"
                    if name + "-sidecar" not in mesh.procs.procs:
                        state = view.colored("down", False)
                    elif address not in hosts.get(service, {}):
                        state = "joining"
                    elif address in ejected.get(service, {}):
                        state = view.colored("ejected", False)
                    else:
                        state = view.colored("up", True)
                    instances.append("%s %s" % (name, state))
                view.render(index, phases, time.time() - phase_start, window, totals, ejected, retries_rate,
                            instances)
            metrics_at_end = watch.metrics()
            samples = load.since(phase_start, time.time())
            results.append({
                "title": title, "event": action_done - t_start, "seconds": round(time.time() - phase_start, 2),
                "stats": stats_of(samples),
                "stats_after_first_second": stats_of([s for s in samples if s.t >= action_done + 1.0]),
                "retries": {s: metrics_at_end[("remora_upstream_retries_total", s)]
                            - metrics_at_start[("remora_upstream_retries_total", s)] for s in ("catalog", "ratings")},
                "ejections": {s: metrics_at_end[("remora_outlier_ejections_total", s)]
                              - metrics_at_start[("remora_outlier_ejections_total", s)] for s in ("catalog", "ratings")},
            })
    finally:
        stop.set()
        for t in load.threads:
            t.join(timeout=6)
    return results, stats_of(load.since(t_start)), ejection_events


# ---- summary --------------------------------------------------------------

def trace_stats(mesh):
    _, body = http_get("http://%s/stats" % mesh.collector)
    stats = json.loads(body)
    _, body = http_get("http://%s/api/v2/traces?limit=%d" % (mesh.collector, stats["traces"]), timeout=20)
    traces = json.loads(body)
    services_per_trace = [len({(s.get("localEndpoint") or {}).get("serviceName") for s in t}) for t in traces]
    stats["traces_with_two_sidecars"] = sum(1 for n in services_per_trace if n >= 2)
    stats["retried_traces"] = sum(1 for t in traces
                                  if any(int((s.get("tags") or {}).get("remora.attempts", "1") or 1) > 1 for s in t))
    return stats


def summarize(mesh, results, totals, ejections, traces, view):
    b = view.bold
    print()
    print(b("What the callers saw, step by step"))
    print("%-38s %-8s %9s %9s %8s %8s %8s %10s" % ("step", "service", "requests", "success", "p50 ms", "p99 ms",
                                                   "retries", "ejections"))
    for r in results:
        for service in ("catalog", "ratings"):
            s = r["stats"][service]
            print("%-38s %-8s %9d %8.2f%% %8.1f %8.1f %8d %10d" % (
                r["title"] if service == "catalog" else "", service, s["requests"], s["success_rate"],
                s["p50_ms"], s["p99_ms"], r["retries"][service], r["ejections"][service]))
    print()
    for service in ("catalog", "ratings"):
        t = totals[service]
        fails = ", ".join("%s: %d" % (k, v) for k, v in t["failures"].items()) or "none"
        print("%s: %d requests, %d succeeded (%.3f%%); failures: %s" % (
            service, t["requests"], t["succeeded"], t["success_rate"], fails))
    before = collections.Counter()
    for r in results[:-1]:
        before.update(r["stats"]["ratings"]["served_by"])
    after = results[-1]["stats_after_first_second"]["ratings"]["served_by"]
    share = lambda c: 100.0 * c.get("ratings-v2", 0) / max(1, sum(c.values()))
    print("ratings v2's share: %.1f%% before the shift, %.1f%% after it" % (share(before), share(after)))
    print("ejections: " + (", ".join("%s (%s)" % (e["instance"], e["reason"]) for e in ejections) or "none"))
    print("traces: %d spans in %d traces; %d traces cross two sidecars, %d include a retry" % (
        traces["spans_received"], traces["traces"], traces["traces_with_two_sidecars"], traces["retried_traces"]))
    return {
        "steps": results, "totals": totals, "ejection_events": ejections, "traces": traces,
        "ratings_v2_share_before": round(share(before), 2), "ratings_v2_share_after": round(share(after), 2),
        "ejections_total": sum(r["ejections"]["catalog"] + r["ejections"]["ratings"] for r in results),
        "retries_total": sum(r["retries"]["catalog"] + r["retries"]["ratings"] for r in results),
    }


def show_a_trace(mesh, view):
    traces_py = os.path.join(HERE, "traces.py")
    for flag in ("--retried", "--slowest"):
        result = subprocess.run([sys.executable, traces_py, "show", "--collector", mesh.collector, flag,
                                 "--service", "catalog"], capture_output=True, text=True, timeout=20)
        if result.returncode == 0:
            print()
            print(view.bold("One %s catalog call, as the sidecars traced it (examples/demo/traces.py show %s)" % (
                "retried" if flag == "--retried" else "slow", flag)))
            print(result.stdout.rstrip())
            return


def next_steps(mesh, keep):
    ctl = "%s --server %s" % (os.path.relpath(mesh.bin["ctl"], ROOT), mesh.api)
    traces = "python3 examples/demo/traces.py"
    print()
    print(("The mesh is still running (--keep); try:" if keep else
           "What to try next (run with --keep to leave the mesh up and try these):"))
    print("  curl -s http://%s/stats/prometheus | grep remora_upstream   # the frontend sidecar's metrics" %
          mesh.admin["frontend"])
    print("  curl -s http://%s/clusters                # its view of every instance: health, ejections" %
          mesh.admin["frontend"])
    print("  %s proxy-status                 # what each sidecar was sent and ACKed" % ctl)
    print("  %s proxy-config endpoints --admin %s" % (ctl, mesh.admin["frontend"]))
    print("  %s get trafficpolicies          # the retry and ejection policy" % ctl)
    print("  %s identity                     # workloads and their certificates" % ctl)
    print("  %s list --collector %s --retried      # traces (a demo collector; docs/getting-started.md: Jaeger, Tempo)" %
          (traces, mesh.collector))
    print("  %s show --collector %s --slowest" % (traces, mesh.collector))
    print("  curl -s -H 'host: catalog:8080' http://%s/      # call catalog through the frontend's sidecar" %
          mesh.outbound)


# ---- main -----------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description="Remora's demo mesh (see the README's quick start).")
    parser.add_argument("--build", default=os.environ.get("REMORA_BUILD_DIR", os.path.join(ROOT, "build")),
                        help="the build directory (default: build/, or $REMORA_BUILD_DIR)")
    parser.add_argument("--keep", action="store_true", help="leave the mesh running at the end, until Ctrl-C")
    parser.add_argument("--quick", action="store_true", help="short steps and plain output (what CI runs)")
    parser.add_argument("--phase-seconds", type=float, help="seconds per step of the story (default 10; 5 with --quick)")
    parser.add_argument("--rate", type=int, default=40, help="catalog calls per second (ratings: half)")
    parser.add_argument("--plain", action="store_true", help="progress lines instead of a live table")
    parser.add_argument("--summary-json", help="write the summary here as JSON")
    args = parser.parse_args()
    if args.phase_seconds is None:
        args.phase_seconds = 5.0 if args.quick else 10.0
    if args.phase_seconds < 2 or args.rate < 10 or args.rate > 1000:
        parser.error("--phase-seconds must be >= 2 and --rate 10..1000")
    plain = args.plain or args.quick or not sys.stdout.isatty()
    view = View(plain, color=sys.stdout.isatty() and not os.environ.get("NO_COLOR"))

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (a background job)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)  # the terminal went away: clean up all the same

    work = tempfile.mkdtemp(prefix="remora-demo.")
    mesh = None
    code = 0
    try:
        mesh = Mesh(args, work)
        print(view.bold("Starting the demo mesh") + " (work directory %s)" % work, flush=True)
        mesh.up(lambda text: print("  " + text, flush=True))
        print(view.bold("The story") + ": %d steps of %.0f s, %d catalog and %d ratings calls per second" % (
            5, args.phase_seconds, args.rate, max(10, args.rate // 2)), flush=True)
        try:
            results, totals, ejections = run_story(mesh, args, view)
        except (OSError, http.client.HTTPException) as e:
            # The frontend's sidecar stopped answering its admin endpoint: say which process died and why.
            mesh.procs.check_all_alive()
            raise DemoError("the frontend sidecar's admin endpoint failed: %s" % e)
        mesh.procs.check_all_alive()
        if not plain:
            print()
        traces = trace_stats(mesh)
        summary = summarize(mesh, results, totals, ejections, traces, view)
        show_a_trace(mesh, view)
        next_steps(mesh, args.keep)
        if args.summary_json:
            with open(args.summary_json, "w") as f:
                json.dump(summary, f, indent=1)
        if args.keep:
            print("\n--keep: the mesh keeps running. Ctrl-C stops it and removes %s." % work, flush=True)
            while True:
                time.sleep(3600)
        print("\ndemo: done", flush=True)
    except KeyboardInterrupt:
        print("\ndemo: stopping", flush=True)
        code = 0 if args.keep else 130
    except DemoError as e:
        log(str(e))
        code = 1
    finally:
        # A second Ctrl-C (or the terminal closing) must not cut the clean-up short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if mesh is not None:
            mesh.procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
